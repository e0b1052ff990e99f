import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TaskSchema } from '@qflare/protocol';
import { parsePartitionSpec, formatPartitionSpec } from '../partition-spec';
import { ensureExample, type ExampleBuildOptions } from './build-examples';
import { parseCsvLine } from './csv-text';
import type { ExampleName } from './example-names';
import { planSplit, splitMethod, type SplitSource } from './split-plan';

/** What splitExample wrote, as saved in `<outDir>/split.json`. */
export interface SplitManifest {
	example: ExampleName;
	partition: string;
	seed: number;
	participants: number;
	method: string;
	/** The task schema file beside the parts. */
	task: string;
	parts: SplitPart[];
}

export interface SplitPart {
	/** Relative to the split folder: `participant-000.csv` or the folder `participant-000`. */
	path: string;
	/** Rows or images. */
	count: number;
	/** Classification: per class, in the task's class order; null otherwise. */
	labelHistogram: number[] | null;
}

export const SPLIT_MANIFEST = 'split.json';
export const SPLIT_TASK = 'task.json';

export function participantEntryName(index: number, csv: boolean): string {
	return `participant-${String(index).padStart(3, '0')}${csv ? '.csv' : ''}`;
}

function histogram(labels: readonly number[], indices: readonly number[], numClasses: number): number[] {
	const counts = new Array<number>(numClasses).fill(0);
	for (const i of indices) counts[labels[i]]++;
	return counts;
}

function checkNotEmpty(parts: number[][], partition: string): void {
	const empty = parts.findIndex((p) => p.length === 0);
	if (empty >= 0) {
		throw new Error(`participant ${empty} would get no data with partition ${partition}; use fewer participants or a larger Dirichlet alpha`);
	}
}

interface CsvTable {
	header: string;
	rows: string[];
}

function readCsvTable(text: string): CsvTable {
	const [header, ...rows] = text.split('\n').filter((line) => line !== '');
	return { header: header ?? '', rows };
}

function csvSource(table: CsvTable, task: TaskSchema, file: string): SplitSource {
	if (task.kind === 'time-series') return { kind: 'time-series', count: table.rows.length };
	if (task.kind !== 'tabular') throw new Error(`${file}: a CSV example needs a tabular or time-series task`);
	const targetIndex = parseCsvLine(table.header).indexOf(task.target);
	if (targetIndex < 0) throw new Error(`${file}: no column "${task.target}" in the header`);
	const cells = table.rows.map((line) => parseCsvLine(line)[targetIndex] ?? '');
	if (task.objective.type === 'regression') return { kind: 'regression', targets: cells.map(Number) };
	const classes = task.objective.classes;
	const labels = cells.map((cell, i) => {
		const label = classes.indexOf(cell);
		if (label < 0) throw new Error(`${file} row ${i + 1}: "${cell}" is not one of ${classes.join(', ')}`);
		return label;
	});
	return { kind: 'classification', labels, numClasses: classes.length };
}

/** Images of the example folder as `<class>/<file>` paths with their class index, in sorted order. */
async function imageFiles(root: string, classes: readonly string[]): Promise<{ file: string; label: number }[]> {
	const files: { file: string; label: number }[] = [];
	for (let label = 0; label < classes.length; label++) {
		const names = (await readdir(path.join(root, classes[label]))).filter((n) => !n.startsWith('.')).sort();
		for (const name of names) files.push({ file: `${classes[label]}/${name}`, label });
	}
	return files;
}

/**
 * Splits an example (built first when needed) across `participants`: one CSV file or one image
 * folder (`<class>/<file>`) per participant in outDir, plus task.json and split.json. The
 * partition is `iid` or `dirichlet:ALPHA` (packages/fl); time series go in consecutive periods.
 * Participant files from an earlier split in outDir are replaced. Same arguments, same files.
 */
export async function splitExample(
	name: ExampleName,
	participants: number,
	partition: string,
	seed: number,
	outDir: string,
	options: ExampleBuildOptions = {}
): Promise<SplitManifest> {
	if (!Number.isInteger(participants) || participants < 1) throw new Error(`participants must be a positive integer, got ${participants}`);
	if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
	const plan = parsePartitionSpec(partition);
	const example = await ensureExample(name, options);
	const task = example.task;
	await mkdir(outDir, { recursive: true });
	for (const entry of await readdir(outDir)) {
		if (entry.startsWith('participant-')) await rm(path.join(outDir, entry), { recursive: true, force: true });
	}

	let source: SplitSource;
	let parts: number[][];
	const written: SplitPart[] = [];
	if (task.kind === 'image-classification') {
		const files = await imageFiles(example.dataPath, task.classes);
		const labels = files.map((f) => f.label);
		source = { kind: 'classification', labels, numClasses: task.classes.length };
		parts = planSplit(source, participants, plan, seed);
		checkNotEmpty(parts, partition);
		for (let p = 0; p < parts.length; p++) {
			const dir = participantEntryName(p, false);
			const classDirs = new Set(parts[p].map((i) => files[i].file.split('/')[0]));
			await Promise.all([...classDirs].map((c) => mkdir(path.join(outDir, dir, c), { recursive: true })));
			await Promise.all(parts[p].map((i) => copyFile(path.join(example.dataPath, files[i].file), path.join(outDir, dir, files[i].file))));
			written.push({ path: dir, count: parts[p].length, labelHistogram: histogram(labels, parts[p], task.classes.length) });
		}
	} else {
		const table = readCsvTable(await readFile(example.dataPath, 'utf8'));
		source = csvSource(table, task, example.dataPath);
		parts = planSplit(source, participants, plan, seed);
		checkNotEmpty(parts, partition);
		for (let p = 0; p < parts.length; p++) {
			const file = participantEntryName(p, true);
			await writeFile(path.join(outDir, file), [table.header, ...parts[p].map((i) => table.rows[i])].join('\n') + '\n');
			const labelHistogram = source.kind === 'classification' ? histogram(source.labels, parts[p], source.numClasses) : null;
			written.push({ path: file, count: parts[p].length, labelHistogram });
		}
	}

	await writeFile(path.join(outDir, SPLIT_TASK), `${JSON.stringify(task, null, '\t')}\n`);
	const manifest: SplitManifest = {
		example: name,
		partition: formatPartitionSpec(plan),
		seed,
		participants,
		method: splitMethod(source.kind, plan),
		task: SPLIT_TASK,
		parts: written
	};
	await writeFile(path.join(outDir, SPLIT_MANIFEST), `${JSON.stringify(manifest, null, '\t')}\n`);
	return manifest;
}

/** One participant's data in a split folder: a CSV file or an image folder. */
export interface ParticipantData {
	path: string;
	kind: 'csv' | 'images';
}

/**
 * The participant entries of a data folder (as splitExample writes, or made by hand): every
 * `*.csv` file and every sub-folder, sorted by name; task.json and split.json are not data.
 */
export async function listParticipantData(dir: string): Promise<ParticipantData[]> {
	let entries;
	try {
		entries = await readdir(dir, { withFileTypes: true });
	} catch {
		throw new Error(`data folder ${dir} does not exist`);
	}
	const data = entries
		.filter((e) => !e.name.startsWith('.'))
		.flatMap((e): ParticipantData[] => {
			if (e.isDirectory()) return [{ path: path.join(dir, e.name), kind: 'images' }];
			if (e.isFile() && e.name.toLowerCase().endsWith('.csv')) return [{ path: path.join(dir, e.name), kind: 'csv' }];
			return [];
		})
		.sort((a, b) => a.path.localeCompare(b.path));
	if (data.length === 0) throw new Error(`data folder ${dir} holds no CSV file and no image folder`);
	return data;
}
