import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TaskSchema } from '@qflare/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR } from '../fashion-mnist';
import { ensureExample } from './build-examples';
import { ExampleSourceUnavailable } from './debian-packages';
import { listParticipantData, splitExample, type SplitManifest } from './split-example';

// Examples are built into a scratch folder (the .deb cache is shared with `npm run examples`).
const outDir = await mkdtemp(path.join(tmpdir(), 'qflare-examples-test-'));
const scratch = await mkdtemp(path.join(tmpdir(), 'qflare-split-test-'));
afterAll(async () => {
	await rm(outDir, { recursive: true, force: true });
	await rm(scratch, { recursive: true, force: true });
});

const csvBuilt = await ensureExample('breast-cancer', { outDir }).then(
	() => ({ ok: true as const }),
	(e: unknown) => {
		if (!(e instanceof ExampleSourceUnavailable)) throw e;
		return { ok: false as const, reason: e.message };
	}
);
if (!csvBuilt.ok) console.log(`skipping the CSV splits: ${csvBuilt.reason}`);
const fashionPresent = await access(path.join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')).then(
	() => true,
	() => false
);
if (!fashionPresent) console.log(`skipping the image split: no Fashion-MNIST in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);

const dataLines = async (file: string) => (await readFile(file, 'utf8')).trimEnd().split('\n').slice(1);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function fileTexts(dir: string, manifest: SplitManifest): Promise<string[]> {
	return Promise.all(manifest.parts.map((p) => readFile(path.join(dir, p.path), 'utf8')));
}

describe.skipIf(!csvBuilt.ok)(`splitting CSV examples${csvBuilt.ok ? '' : ': SKIPPED, .debs unavailable'}`, () => {
	it('breast cancer in 3 IID parts: every row once, same header, deterministic', async () => {
		const dir = path.join(scratch, 'bc-iid');
		const manifest = await splitExample('breast-cancer', 3, 'iid', 5, dir, { outDir });
		expect(manifest.parts.map((p) => [p.path, p.count])).toEqual([
			['participant-000.csv', 190],
			['participant-001.csv', 190],
			['participant-002.csv', 189]
		]);
		const source = await readFile(path.join(outDir, 'breast-cancer.csv'), 'utf8');
		const header = source.split('\n')[0];
		const texts = await fileTexts(dir, manifest);
		for (const text of texts) expect(text.split('\n')[0]).toBe(header);
		const rows = (await Promise.all(manifest.parts.map((p) => dataLines(path.join(dir, p.path))))).flat();
		expect(rows.sort()).toEqual(source.trimEnd().split('\n').slice(1).sort());
		const histograms = manifest.parts.map((p) => p.labelHistogram!);
		expect([sum(histograms.map((h) => h[0])), sum(histograms.map((h) => h[1]))]).toEqual([212, 357]);
		expect(TaskSchema.parse(JSON.parse(await readFile(path.join(dir, 'task.json'), 'utf8')))).toMatchObject({ target: 'diagnosis' });
		expect((await listParticipantData(dir)).map((d) => [path.basename(d.path), d.kind])).toEqual([
			['participant-000.csv', 'csv'],
			['participant-001.csv', 'csv'],
			['participant-002.csv', 'csv']
		]);

		// Same arguments, same bytes; another seed, other rows.
		const again = await splitExample('breast-cancer', 3, 'iid', 5, dir, { outDir });
		expect(again).toEqual(manifest);
		expect(await fileTexts(dir, again)).toEqual(texts);
		await splitExample('breast-cancer', 3, 'iid', 6, path.join(scratch, 'bc-iid-6'), { outDir });
		expect(await readFile(path.join(scratch, 'bc-iid-6', 'participant-000.csv'), 'utf8')).not.toBe(texts[0]);
	});

	it('breast cancer with label skew (Dirichlet 0.3) still hands out every row once', async () => {
		const dir = path.join(scratch, 'bc-dir');
		const manifest = await splitExample('breast-cancer', 4, 'dirichlet:0.3', 2, dir, { outDir });
		expect(sum(manifest.parts.map((p) => p.count))).toBe(569);
		expect(manifest.method).toContain('Dirichlet(0.3)');
		const shares = manifest.parts.map((p) => p.labelHistogram![0] / p.count);
		// Label skew: the share of malignant rows differs a lot between participants.
		expect(Math.max(...shares) - Math.min(...shares)).toBeGreaterThan(0.3);
		// A smaller split replaces the earlier participant files.
		await splitExample('breast-cancer', 2, 'iid', 2, dir, { outDir });
		expect((await readdir(dir)).filter((n) => n.startsWith('participant-')).sort()).toEqual(['participant-000.csv', 'participant-001.csv']);
	});

	it('wine, diabetes and co2 split into parts that add up', async () => {
		const wine = await splitExample('wine', 3, 'iid', 1, path.join(scratch, 'wine'), { outDir });
		expect(wine.parts.map((p) => p.count)).toEqual([60, 59, 59]);
		const diabetes = await splitExample('diabetes', 3, 'dirichlet:1', 1, path.join(scratch, 'diabetes'), { outDir });
		expect(sum(diabetes.parts.map((p) => p.count))).toBe(442);
		expect(diabetes.parts[0].labelHistogram).toBeNull();
		const co2 = await splitExample('co2', 3, 'iid', 1, path.join(scratch, 'co2'), { outDir });
		expect(co2.parts.map((p) => p.count)).toEqual([762, 761, 761]);
		// Consecutive periods in time order: the second starts the week after the first ends.
		const [first, second] = await Promise.all([0, 1].map((i) => dataLines(path.join(scratch, 'co2', co2.parts[i].path))));
		expect(first[0].startsWith('1958-03-29,')).toBe(true);
		expect(Date.parse(second[0].split(',')[0]) - Date.parse(first.at(-1)!.split(',')[0])).toBe(7 * 86_400_000);
		await expect(splitExample('co2', 3, 'dirichlet:0.5', 1, path.join(scratch, 'co2'), { outDir })).rejects.toThrow('use iid');
	});

	it('says why a split cannot be made', async () => {
		await expect(splitExample('wine', 0, 'iid', 1, path.join(scratch, 'x'), { outDir })).rejects.toThrow('participants must be a positive integer');
		await expect(splitExample('wine', 2, 'random', 1, path.join(scratch, 'x'), { outDir })).rejects.toThrow('must be "iid" or "dirichlet:ALPHA"');
		await expect(splitExample('wine', 200, 'iid', 1, path.join(scratch, 'x'), { outDir })).rejects.toThrow('participant 178 would get no data');
	});
});

describe.skipIf(!fashionPresent)('splitting the image folder', () => {
	it('100 images (10 per class) in 3 IID folders of <class>/<file>, every file once', async () => {
		const example = await ensureExample('fashion-mnist-images', { outDir, imagesPerClass: 10 });
		expect(example.count).toBe(100);
		const dir = path.join(scratch, 'images');
		const manifest = await splitExample('fashion-mnist-images', 3, 'iid', 4, dir, { outDir, imagesPerClass: 10 });
		expect(manifest.parts.map((p) => p.count)).toEqual([34, 33, 33]);
		const listed: string[] = [];
		for (const part of manifest.parts) {
			const classes = await readdir(path.join(dir, part.path));
			for (const c of classes) for (const f of await readdir(path.join(dir, part.path, c))) listed.push(`${c}/${f}`);
			expect(sum(part.labelHistogram!)).toBe(part.count);
		}
		expect(listed).toHaveLength(100);
		expect(new Set(listed).size).toBe(100);
		expect((await listParticipantData(dir)).map((d) => d.kind)).toEqual(['images', 'images', 'images']);
		const png = await readFile(path.join(dir, manifest.parts[0].path, listed[0]));
		expect([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
	});
});
