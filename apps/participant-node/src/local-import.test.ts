import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import type { ImageClassificationTask } from '@qflare/protocol';
import type { ParticipantProjectView } from '@qflare/protocol';
import type { ProjectDataFacts } from '@qflare/participant';
import { afterAll, describe, expect, it } from 'vitest';
import { describePrepared, filesMismatch, FilePreparedDataStore, LocalDataError, needsDataMessage, prepareLocalFiles } from './local-import';

const root = mkdtempSync(path.join(tmpdir(), 'qflare-local-import-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IMAGES: ImageClassificationTask = { kind: 'image-classification', classes: ['dark', 'light'], width: 4, height: 4, channels: 1 };
const facts = (over: Partial<ProjectDataFacts> = {}): ProjectDataFacts => ({
	id: 'p1',
	name: 'shades',
	dataset: 'mnist',
	model: 'cnn-small',
	dataSource: 'local',
	task: IMAGES,
	holdOutFraction: 0.25,
	seed: 3,
	...over
});

/** An 8x8 gray PNG of one shade. */
function png(shade: number): Uint8Array {
	return encodePng({ width: 8, height: 8, data: new Uint8Array(64).fill(shade), channels: 1, depth: 8 });
}

function folder(name: string, files: Record<string, Uint8Array | string>): string {
	const dir = path.join(root, name);
	for (const [file, bytes] of Object.entries(files)) {
		mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
		writeFileSync(path.join(dir, file), bytes);
	}
	return dir;
}

describe('filesMismatch', () => {
	it('says which flag a project takes, before any file is read', () => {
		expect(filesMismatch(facts(), { imagesDir: 'x' })).toBeNull();
		expect(filesMismatch(facts(), { csvFile: 'x.csv' })).toBe('project "shades" classifies images: pass --images DIR instead of --csv');
		expect(filesMismatch(facts({ dataSource: 'demo', task: null }), { imagesDir: 'x' })).toBe(
			`project "shades" trains on the server's demo data (mnist); it takes no --images: leave it out`
		);
		expect(
			filesMismatch(facts({ task: { kind: 'time-series', timeColumn: 't', valueColumns: ['v'], target: 'v', window: 4, horizon: 1, loss: 'mse' } }), {
				imagesDir: 'x'
			})
		).toBe('project "shades" is a time-series task on a CSV file: pass --csv FILE instead of --images');
	});
});

describe('prepareLocalFiles with an image folder', () => {
	it('decodes one sub-folder per class, resizes to the task and splits by the project seed', async () => {
		const dir = folder('shades', {
			'dark/a.png': png(10),
			'dark/b.png': png(20),
			'light/c.png': png(240),
			'light/d.png': png(250),
			'notes.txt': 'not an image'
		});
		const data = await prepareLocalFiles(facts(), { imagesDir: dir });
		expect(data.summary).toMatchObject({ source: 'shades', rows: 4, trainCount: 3, holdOutCount: 1 });
		expect(data.summary.skipped).toEqual(['shades/notes.txt (not a PNG or JPEG file)']);
		// One dark image is held out: the histogram counts the three training images.
		expect(Array.from(data.holdOut!.targets)).toEqual([0]);
		expect(data.labelHistogram).toEqual([1, 2]);
		expect(data.train.inputs.length + (data.holdOut?.inputs.length ?? 0)).toBe(4 * 16);
		// An 8x8 image of one shade stays that shade at 4x4.
		const all = [...data.train.inputs, ...(data.holdOut?.inputs ?? [])].sort((a, b) => a - b);
		expect(new Set(all)).toEqual(new Set([10, 20, 240, 250]));
		expect(describePrepared(data)).toBe('4 images from shades: 3 images for training, 1 held out for evaluation; training samples per class 1 / 2; skipped 1 file');
	});

	it('labels images with a labels CSV instead of class folders', async () => {
		const dir = folder('flat', { 'x1.png': png(5), 'x2.png': png(250) });
		const labels = path.join(root, 'labels.csv');
		writeFileSync(labels, 'filename,label\nx1.png,dark\nx2.png,light\n');
		const data = await prepareLocalFiles(facts({ holdOutFraction: 0 }), { imagesDir: dir, labelsFile: labels });
		expect(Array.from(data.train.targets)).toEqual([0, 1]);
		expect(data.holdOut).toBeNull();
	});

	it('lists every image that does not decode and every folder that is not a class', async () => {
		const dir = folder('broken', { 'dark/ok.png': png(1), 'dark/bad.png': 'PNG? no', 'Light/e.png': png(200) });
		const error = await prepareLocalFiles(facts(), { imagesDir: dir }).then(
			() => null,
			(e: unknown) => e
		);
		expect(error).toBeInstanceOf(LocalDataError);
		expect((error as Error).message).toMatch(/^--images .*broken: the folder broken\/Light is not one of the classes "dark", "light" \(did you mean "light"\?/);
		const undecodable = folder('undecodable', { 'dark/ok.png': png(1), 'dark/bad.png': 'PNG? no', 'light/e.png': png(200) });
		await expect(prepareLocalFiles(facts(), { imagesDir: undecodable })).rejects.toThrow(/undecodable\/dark\/bad\.png/);
	});

	it('reports a folder that does not exist', async () => {
		await expect(prepareLocalFiles(facts(), { imagesDir: path.join(root, 'missing') })).rejects.toThrow(/^--images .*missing: ENOENT/);
	});
});

describe('FilePreparedDataStore', () => {
	it('keeps the prepared data per project and gives it back as it was', async () => {
		const store = new FilePreparedDataStore(path.join(root, 'device'));
		expect(await store.load('p1')).toBeNull();
		const dir = folder('kept', { 'dark/a.png': png(30), 'light/b.png': png(220), 'light/c.png': png(230) });
		const data = await prepareLocalFiles(facts(), { imagesDir: dir });
		await store.save('p1', data);
		const back = await store.load('p1');
		expect(back?.task).toEqual(data.task);
		expect(Array.from(back!.train.inputs)).toEqual(Array.from(data.train.inputs));
		expect(Array.from(back!.train.targets)).toEqual(Array.from(data.train.targets));
		expect(back?.stats).toEqual(data.stats);
		expect(await store.load('p2')).toBeNull();
	});
});

describe('needsDataMessage', () => {
	const project = (dataSource: 'demo' | 'local') => ({ dataSource }) as ParticipantProjectView;
	it('tells a local-data participant which flags import data, and a demo participant only what is wrong', () => {
		expect(needsDataMessage({ error: 'import your data first', project: project('local') })).toBe(
			"import your data first\n(pass --csv FILE or --images DIR to import this device's data)"
		);
		// A demo project refuses --csv and --images: its shard (--shard FILE) is what did not fit.
		expect(needsDataMessage({ error: 'the training inputs hold 8 values, expected 2 rows x 784', project: project('demo') })).toBe(
			'the training inputs hold 8 values, expected 2 rows x 784'
		);
	});
});
