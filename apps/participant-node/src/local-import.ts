import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
	DataImportError,
	decodeImageFile,
	decodePrepared,
	encodePrepared,
	labelImageFiles,
	prepareCsv,
	prepareImages,
	skippedImageFiles,
	type ImageEntry,
	type PreparedData
} from '@qflare/data-import';
import type { ParticipantState, PreparedDataStore, ProjectDataFacts } from '@qflare/participant';

/** The files to import: one CSV, or an image folder with an optional labels CSV. */
export type LocalFiles = { csvFile: string } | { imagesDir: string; labelsFile?: string | null };

/** A file that cannot take part, or a project that takes no such file: the CLI prints it and exits. */
export class LocalDataError extends Error {
	override readonly name = 'LocalDataError';
}

/** Why these files cannot be used for this project at all (before reading them); null when they can. */
export function filesMismatch(project: ProjectDataFacts, files: LocalFiles): string | null {
	const flag = 'csvFile' in files ? '--csv' : '--images';
	if (project.dataSource === 'demo') {
		return `project "${project.name}" trains on the server's demo data (${project.dataset}); it takes no ${flag}: leave it out`;
	}
	if (!project.task) return `project "${project.name}" declares no task for its data`;
	const wantsImages = project.task.kind === 'image-classification';
	if (wantsImages && flag === '--csv') return `project "${project.name}" classifies images: pass --images DIR instead of --csv`;
	if (!wantsImages && flag === '--images') return `project "${project.name}" is a ${project.task.kind} task on a CSV file: pass --csv FILE instead of --images`;
	return null;
}

async function readText(file: string, flag: string): Promise<string> {
	try {
		return await readFile(file, 'utf8');
	} catch (error) {
		throw new LocalDataError(`${flag} ${file}: ${(error as Error).message}`);
	}
}

/** Every file under `dir`, as paths relative to dir's parent (`photos/cat/1.png`), like a browser's folder picker. */
async function listFiles(dir: string): Promise<string[]> {
	const root = path.basename(path.resolve(dir));
	let entries;
	try {
		entries = await readdir(dir, { recursive: true, withFileTypes: true });
	} catch (error) {
		throw new LocalDataError(`--images ${dir}: ${(error as Error).message}`);
	}
	return entries
		.filter((e) => e.isFile())
		.map((e) => path.join(root, path.relative(path.resolve(dir), path.join(e.parentPath, e.name))).split(path.sep).join('/'))
		.sort();
}

function importProblem(source: string, error: DataImportError): LocalDataError {
	const list = error.problems;
	return new LocalDataError(
		list.length === 1 ? `${source}: ${list[0]}` : `${source} cannot be used (${list.length} problems):\n${list.map((p) => `  - ${p}`).join('\n')}`
	);
}

/**
 * Reads, checks and prepares the device's files for the project's task with @qflare/data-import
 * (the code the page's worker runs): a CSV, or an image folder decoded with decodeImageFile. Bad
 * data throws a LocalDataError that lists every problem; nothing has been sent by then.
 */
export async function prepareLocalFiles(project: ProjectDataFacts, files: LocalFiles): Promise<PreparedData> {
	const mismatch = filesMismatch(project, files);
	const task = project.task;
	if (mismatch || !task) throw new LocalDataError(mismatch ?? `project "${project.name}" declares no task`);
	const split = { holdOutFraction: project.holdOutFraction, seed: project.seed };
	if ('csvFile' in files && task.kind !== 'image-classification') {
		const text = await readText(files.csvFile, '--csv');
		try {
			return prepareCsv(text, task, split, path.basename(files.csvFile));
		} catch (error) {
			if (error instanceof DataImportError) throw importProblem(`--csv ${files.csvFile}`, error);
			throw error;
		}
	}
	// filesMismatch ruled out every other pairing of files and task.
	if (!('imagesDir' in files) || task.kind !== 'image-classification') throw new LocalDataError('these files do not fit the task');
	const dir = files.imagesDir;
	const source = `--images ${dir}`;
	const labelsCsv = files.labelsFile ? await readText(files.labelsFile, '--labels') : undefined;
	const paths = await listFiles(dir);
	const parent = path.dirname(path.resolve(dir));
	try {
		const labelled = labelImageFiles(paths, task, labelsCsv);
		const entries: ImageEntry[] = [];
		const problems: string[] = [];
		for (const file of labelled) {
			try {
				const bytes = await readFile(path.join(parent, ...file.path.split('/')));
				entries.push({ name: file.path, label: file.label, pixels: decodeImageFile(new Uint8Array(bytes), task, file.path) });
			} catch (error) {
				if (error instanceof DataImportError) problems.push(...error.problems);
				else problems.push(`${file.path}: ${(error as Error).message}`);
			}
		}
		if (problems.length > 0) throw new DataImportError(problems);
		return prepareImages(entries, task, split, { source: path.basename(path.resolve(dir)), skipped: skippedImageFiles(paths) });
	} catch (error) {
		if (error instanceof DataImportError) throw importProblem(source, error);
		throw error;
	}
}

/**
 * What the CLI prints when a session ends in 'needs-data': the reason and, for a local-data
 * project, the flags that import data (a demo project refuses them; its shard did not fit).
 */
export function needsDataMessage(state: Pick<ParticipantState, 'error' | 'project'>): string {
	const reason = state.error ?? 'no data';
	return state.project?.dataSource === 'demo' ? reason : `${reason}\n(pass --csv FILE or --images DIR to import this device's data)`;
}

/** "569 rows from clinic.csv: 484 rows for training, 85 held out for evaluation; training samples per class 180 / 304". */
export function describePrepared(data: PreparedData): string {
	const { summary } = data;
	const labels = data.labelHistogram ? `; training samples per class ${data.labelHistogram.join(' / ')}` : '';
	const skipped = summary.skipped.length > 0 ? `; skipped ${summary.skipped.length} file${summary.skipped.length === 1 ? '' : 's'}` : '';
	const read = data.task.kind === 'image-classification' ? 'images' : 'rows';
	const samples = data.task.kind === 'time-series' ? 'windows' : read;
	return (
		`${summary.rows} ${read} from ${summary.source}: ` +
		`${data.train.count} ${samples} for training, ${data.holdOut?.count ?? 0} held out for evaluation${labels}${skipped}`
	);
}

/**
 * Prepared data in DATA_DIR/prepared/<project>.qfd (encodePrepared), so a restart without --csv
 * or --images trains on what was imported before. Written to a temp file and renamed into place.
 */
export class FilePreparedDataStore implements PreparedDataStore {
	constructor(private readonly dataDir: string) {}

	pathOf(projectId: string): string {
		return path.join(this.dataDir, 'prepared', `${encodeURIComponent(projectId)}.qfd`);
	}

	async load(projectId: string): Promise<PreparedData | null> {
		let bytes: Buffer;
		try {
			bytes = await readFile(this.pathOf(projectId));
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
			throw error;
		}
		return decodePrepared(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
	}

	async save(projectId: string, data: PreparedData): Promise<void> {
		const file = this.pathOf(projectId);
		await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
		const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
		await writeFile(temp, encodePrepared(data), { mode: 0o600 });
		await rename(temp, file);
	}
}
