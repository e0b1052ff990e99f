import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode } from 'fast-png';
import { createRng } from '@qflare/fl';
import { listParticipantData, parseCsvLine, splitExample, type ParticipantData } from '@qflare/datasets/examples';

// Example splits with a planted canary: a value, a row, a file name and file bytes that exist
// only on one participant's device, so a test can look for them in everything that left it.

export const SPLIT_SEED = 11;

export interface TabularCanary {
	/** Participant data in page order; parts[0] holds the canary row. */
	parts: ParticipantData[];
	/** Data rows (raw text lines) of each part. */
	rows: string[][];
	header: string[];
	column: string;
	/** Spelt as in the file. */
	value: string;
	row: string;
	fileName: string;
}

/** breast-cancer in 3 IID parts; part 0 renamed to a unique name, its first row's `mean radius` set to the canary. */
export async function tabularSplitWithCanary(dir: string): Promise<TabularCanary> {
	await splitExample('breast-cancer', 3, 'iid', SPLIT_SEED, dir);
	const [first, ...others] = await listParticipantData(dir);
	const [headerLine, ...lines] = (await readFile(first.path, 'utf8')).trimEnd().split('\n');
	const header = parseCsvLine(headerLine);
	const column = 'mean radius';
	// Within the column's range (6.98..28.11), so the canary row trains like any other.
	const value = '27.1828182845';
	const cells = lines[0].split(',');
	cells[header.indexOf(column)] = value;
	lines[0] = cells.join(',');
	const fileName = 'qf-canary-7e3b1d.csv';
	const canaryPath = path.join(dir, fileName);
	await writeFile(canaryPath, [headerLine, ...lines].join('\n') + '\n');
	await rename(first.path, `${first.path}.replaced`);
	const parts = [{ path: canaryPath, kind: 'csv' as const }, ...others];
	const rows = [lines, ...(await Promise.all(others.map(async (o) => (await readFile(o.path, 'utf8')).trimEnd().split('\n').slice(1))))];
	return { parts, rows, header, column, value, row: lines[0], fileName };
}

export interface ImageCanary {
	parts: ParticipantData[];
	fileName: string;
	/** The canary PNG as written. */
	fileBytes: Buffer;
	/** Its decoded 28x28 grayscale pixels. */
	pixels: Uint8Array;
	/** A sample of other image files of every part (whole files). */
	sampleFiles: Buffer[];
}

/** fashion-mnist-images in 3 IID folders; part 0 gains a noise image with a unique name in its Bag folder. */
export async function imageSplitWithCanary(dir: string): Promise<ImageCanary> {
	const manifest = await splitExample('fashion-mnist-images', 3, 'iid', SPLIT_SEED, dir);
	const parts = await listParticipantData(dir);
	const rng = createRng(271_828);
	const pixels = new Uint8Array(28 * 28);
	for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng.next() * 256);
	const fileBytes = Buffer.from(encode({ width: 28, height: 28, data: pixels, channels: 1, depth: 8 }));
	const fileName = 'qf-canary-5e1d7a.png';
	await writeFile(path.join(parts[0].path, 'Bag', fileName), fileBytes);
	const sampleFiles: Buffer[] = [];
	for (const part of parts) {
		for (const className of ['Trouser', 'Sneaker']) {
			const folder = path.join(part.path, className);
			const names = (await readdir(folder)).sort().slice(0, 5);
			for (const name of names) sampleFiles.push(await readFile(path.join(folder, name)));
		}
	}
	if (manifest.parts.length !== 3) throw new Error('expected 3 image folders');
	return { parts, fileName, fileBytes, pixels, sampleFiles };
}
