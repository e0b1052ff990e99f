import type { ImageClassificationTask } from '@qflare/protocol';
import { isBlank, parseCsvTable } from './csv-table';
import { DataImportError, ProblemList, listChoices, quoteValue } from './errors';

/** The files both the page and the CLI decode; other files are skipped, never guessed at. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg'] as const;

export interface LabelledImageFile {
	path: string;
	label: string;
}

/** Forward slashes, no leading "./" or "/": how labelImageFiles names files, so callers can find them again. */
export function normalizePath(path: string): string {
	return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/** System files (.DS_Store, ._photo.jpg, __MACOSX/...) that a zip or a file manager adds. */
function isSystemFile(path: string): boolean {
	return normalizePath(path)
		.split('/')
		.some((part) => part.startsWith('.') || part === '__MACOSX' || part === 'Thumbs.db' || part === 'desktop.ini');
}

export function isImageFileName(path: string): boolean {
	const dot = path.lastIndexOf('.');
	return dot >= 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(path.slice(dot + 1).toLowerCase());
}

/**
 * Files among `paths` that are not imported, each with the reason, for the summary. System
 * files are left out silently; `ignore` names files the caller uses otherwise (the labels CSV).
 */
export function skippedImageFiles(paths: readonly string[], ignore: readonly string[] = []): string[] {
	const ignored = new Set(ignore.map(normalizePath));
	return paths
		.filter((p) => !isSystemFile(p) && !isImageFileName(p) && !ignored.has(normalizePath(p)))
		.map((p) => `${normalizePath(p)} (not a PNG or JPEG file)`)
		.sort();
}

function byPath(a: LabelledImageFile, b: LabelledImageFile): number {
	return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function noImages(paths: readonly string[]): DataImportError {
	const skipped = skippedImageFiles(paths);
	const tail = skipped.length > 0 ? `; skipped ${skipped.length} other file${skipped.length === 1 ? '' : 's'}, e.g. ${skipped[0]}` : '';
	return new DataImportError([`no PNG or JPEG images found${tail}`]);
}

/** `<folder>/<class>/<file>`: every image two levels down, in a folder named like a class. */
function labelByFolder(images: string[], task: ImageClassificationTask): LabelledImageFile[] {
	const problems = new ProblemList();
	const classes = new Set(task.classes);
	const roots = new Set<string>();
	const unknownFolders = new Set<string>();
	const labelled: LabelledImageFile[] = [];
	for (const path of images) {
		const parts = path.split('/');
		if (parts.length !== 3) {
			problems.add(`${path} is not inside a class folder: expected <folder>/<class>/<file>, one sub-folder per class (${listChoices(task.classes)})`);
			continue;
		}
		const [root, label] = parts;
		roots.add(root);
		if (classes.has(label)) labelled.push({ path, label });
		else if (!unknownFolders.has(label)) {
			unknownFolders.add(label);
			const hint = task.classes.find((c) => c.toLowerCase() === label.toLowerCase());
			problems.add(
				`the folder ${root}/${label} is not one of the classes ${listChoices(task.classes)}` +
					(hint ? ` (did you mean ${JSON.stringify(hint)}? class names are case-sensitive)` : '')
			);
		}
	}
	if (roots.size > 1) problems.add(`the images come from more than one folder (${listChoices([...roots].sort())}): pick one folder that holds the class folders`);
	problems.throwIfAny();
	return labelled.sort(byPath);
}

/** Image files anywhere under the picked folder, labelled by a CSV with the columns filename and label. */
function labelByCsv(images: string[], task: ImageClassificationTask, labelsCsv: string): LabelledImageFile[] {
	const table = parseCsvTable(labelsCsv, 'the labels CSV');
	const problems = new ProblemList();
	const column = (name: string) => table.header.findIndex((h) => h.toLowerCase() === name);
	const fileColumn = column('filename');
	const labelColumn = column('label');
	if (fileColumn < 0 || labelColumn < 0) {
		throw new DataImportError([`the labels CSV needs a header row with the columns "filename" and "label"; its header is ${listChoices(table.header)}`]);
	}

	// A row may name a file by its path inside the picked folder, its full path, or its bare name when that is unique.
	const byName = new Map<string, string[]>();
	const add = (key: string, path: string) => byName.set(key, [...(byName.get(key) ?? []), path]);
	for (const path of images) {
		const parts = path.split('/');
		add(path, path);
		if (parts.length > 1) add(parts.slice(1).join('/'), path);
		if (parts.length > 2) add(parts[parts.length - 1], path);
	}

	const classes = new Set(task.classes);
	const labelOf = new Map<string, string>();
	const rowOf = new Map<string, number>();
	table.rows.forEach((row, r) => {
		const rowNumber = table.rowNumbers[r];
		const file = normalizePath(row[fileColumn].trim());
		const label = row[labelColumn].trim();
		if (isBlank(file)) {
			problems.add(`the labels CSV row ${rowNumber} has no filename`);
			return;
		}
		const matches = [...new Set(byName.get(file) ?? [])];
		if (matches.length === 0) {
			problems.add(`the labels CSV row ${rowNumber} names ${quoteValue(file)}, which is not among the picked image files`);
			return;
		}
		if (matches.length > 1) {
			problems.add(`the labels CSV row ${rowNumber} names ${quoteValue(file)}, which matches ${matches.length} files (${listChoices(matches, 3)}): give the path inside the folder`);
			return;
		}
		const path = matches[0];
		if (!classes.has(label)) {
			problems.add(
				label === ''
					? `the labels CSV row ${rowNumber} has no label for ${quoteValue(file)}`
					: `the labels CSV row ${rowNumber}: the label ${quoteValue(label)} is not one of the classes ${listChoices(task.classes)}`
			);
			return;
		}
		const earlier = rowOf.get(path);
		if (earlier !== undefined) {
			problems.add(`the labels CSV rows ${earlier} and ${rowNumber} both label ${quoteValue(path)}`);
			return;
		}
		rowOf.set(path, rowNumber);
		labelOf.set(path, label);
	});
	for (const path of images) {
		if (!labelOf.has(path)) problems.add(`${path} has no row in the labels CSV`);
	}
	problems.throwIfAny();
	return images.map((path) => ({ path, label: labelOf.get(path) as string })).sort(byPath);
}

/**
 * Labels a participant's picked image files for the task. Paths are relative to the parent of
 * the picked folder, as a browser's webkitRelativePath gives them (`photos/cat/1.png`). Without a
 * labels CSV the layout is one sub-folder per class (`<folder>/<class>/<file>`): a folder that is
 * not a class, or an image at another depth, is a problem. With a labels CSV (columns filename,
 * label) images may sit anywhere. Non-image files are left out (see skippedImageFiles). The
 * result is sorted by path, so the seeded hold-out does not depend on the order files were listed.
 */
export function labelImageFiles(paths: string[], task: ImageClassificationTask, labelsCsv?: string): LabelledImageFile[] {
	const images = [...new Set(paths.map(normalizePath))].filter((p) => isImageFileName(p) && !isSystemFile(p));
	if (images.length === 0) throw noImages(paths);
	return labelsCsv === undefined ? labelByFolder(images, task) : labelByCsv(images, task, labelsCsv);
}
