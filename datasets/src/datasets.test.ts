import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirichletPartition, iidPartition, labelHistogram } from '@qflare/fl';
import { decodeShard, type LabelledSet } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { deviceShard, loadDataset } from './datasets';
import { FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist';
import { shardOf } from './image-set';
import { loadMnist } from './mnist';
import { writeShardFiles } from './shard-files';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const all = (set: LabelledSet) => Array.from({ length: set.count }, (_, i) => i);
const histogram = (set: LabelledSet) => labelHistogram(set.labels, all(set), set.numClasses);

// Comparing digests: deep equality over megabytes of typed arrays is slow in Vitest.
function fingerprint(set: LabelledSet) {
	const { count, width, height, numClasses } = set;
	return { count, width, height, numClasses, images: sha256(set.images), labels: sha256(set.labels) };
}

function imageHashes(set: LabelledSet): string[] {
	return all(set).map((i) => sha256(set.images.subarray(i * 784, (i + 1) * 784)));
}

// Digits per class in the mnist package: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
const MNIST_TRAIN_HISTOGRAM = [801, 927, 791, 832, 780, 663, 814, 870, 744, 778];

describe('mnist', () => {
	it('loads 8,000 train and 2,000 test 28x28 digits of 10 classes', async () => {
		const { train, test } = await loadDataset('mnist');
		for (const [set, count] of [
			[train, 8000],
			[test, 2000]
		] as const) {
			expect(set.count).toBe(count);
			expect([set.width, set.height, set.numClasses]).toEqual([28, 28, 10]);
			expect(set.images.length).toBe(count * 784);
			expect(set.labels.length).toBe(count);
			expect(Math.max(...set.labels)).toBe(9);
		}
		expect(histogram(test)).toEqual(new Array(10).fill(200));
		expect(histogram(train)).toEqual(MNIST_TRAIN_HISTOGRAM);
		// Floats in [0, 1] become bytes spanning the whole range.
		expect(Math.min(...train.images.subarray(0, 784 * 50))).toBe(0);
		expect(Math.max(...train.images.subarray(0, 784 * 50))).toBe(255);
	});

	it('caches per process', async () => {
		expect(await loadDataset('mnist')).toBe(await loadDataset('mnist'));
	});

	it('splits and orders identically on every load, shuffled rather than by class', async () => {
		const a = await loadMnist();
		const b = await loadMnist();
		expect(sha256(a.train.images)).toBe(sha256(b.train.images));
		expect(sha256(a.test.images)).toBe(sha256(b.test.images));
		expect(sha256(a.train.labels)).toBe(sha256(b.train.labels));
		expect(sha256(a.test.labels)).toBe(sha256(b.test.labels));
		expect(new Set(a.train.labels.subarray(0, 50)).size).toBeGreaterThan(5);
		expect(new Set(a.test.labels.subarray(0, 50)).size).toBeGreaterThan(5);
	});

	it('keeps train and test disjoint', async () => {
		const { train, test } = await loadDataset('mnist');
		const trainHashes = new Set(imageHashes(train));
		const testHashes = imageHashes(test);
		// The package has no duplicate digits, so equal bytes would mean a leaked example.
		expect(trainHashes.size).toBe(8000);
		expect(new Set(testHashes).size).toBe(2000);
		expect(testHashes.filter((h) => trainHashes.has(h))).toEqual([]);
	});
});

describe('deviceShard', () => {
	it('hands out the IID share of the train split', async () => {
		const { train } = await loadDataset('mnist');
		const shard = await deviceShard('mnist', { partition: 'iid', shardCount: 10, shardIndex: 3, seed: 1 });
		expect(shard.count).toBe(800);
		expect(fingerprint(shard)).toEqual(fingerprint(shardOf(train, iidPartition(8000, 10, 1)[3])));
	});

	it('hands out the Dirichlet share of the train split', async () => {
		const { train } = await loadDataset('mnist');
		const options = { partition: { dirichletAlpha: 0.5 }, shardCount: 5, seed: 2 };
		const expected = dirichletPartition(train.labels, 10, 5, 0.5, 2);
		const shards = await Promise.all([0, 1, 2, 3, 4].map((shardIndex) => deviceShard('mnist', { ...options, shardIndex })));
		expect(shards.map((s) => s.count)).toEqual(expected.map((p) => p.length));
		expect(shards.reduce((n, s) => n + s.count, 0)).toBe(8000);
		expect(fingerprint(shards[4])).toEqual(fingerprint(shardOf(train, expected[4])));
	});

	it('rejects a shard index out of range', async () => {
		await expect(deviceShard('mnist', { partition: 'iid', shardCount: 4, shardIndex: 4, seed: 1 })).rejects.toThrow(
			'shardIndex 4 is outside 0..3'
		);
	});
});

describe('writeShardFiles', () => {
	it('writes decodable shards, the test split and a manifest that describes them', async () => {
		const dir = await mkdtemp(join(tmpdir(), 'qflare-shards-'));
		try {
			const options = { partition: { dirichletAlpha: 0.5 }, shardCount: 4, seed: 1 };
			const manifest = await writeShardFiles('mnist', options, dir);
			const onDisk = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
			expect(onDisk).toEqual(manifest);
			expect(manifest.shards.map((s) => s.file)).toEqual([
				'shard-000.bin',
				'shard-001.bin',
				'shard-002.bin',
				'shard-003.bin'
			]);
			expect(manifest.partitionSpec).toBe('dirichlet:0.5');
			expect(manifest.shards.reduce((n, s) => n + s.count, 0)).toBe(8000);
			const totals = manifest.shards.reduce((acc, s) => acc.map((v, i) => v + s.labelHistogram[i]), new Array(10).fill(0));
			expect(totals).toEqual(MNIST_TRAIN_HISTOGRAM);

			const bytes = new Uint8Array(await readFile(join(dir, 'shard-002.bin')));
			expect(sha256(bytes)).toBe(manifest.shards[2].sha256);
			expect(fingerprint(decodeShard(bytes))).toEqual(fingerprint(await deviceShard('mnist', { ...options, shardIndex: 2 })));

			const test = decodeShard(new Uint8Array(await readFile(join(dir, 'test.bin'))));
			expect(fingerprint(test)).toEqual(fingerprint((await loadDataset('mnist')).test));
			expect(manifest.test).toMatchObject({ file: 'test.bin', count: 2000, labelHistogram: new Array(10).fill(200) });
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});

const fashionPresent = await access(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')).then(
	() => true,
	() => false
);

describe('fashion-mnist', () => {
	it('loads the official 60,000 / 10,000 split', async (ctx) => {
		if (!fashionPresent) {
			console.log(`skipping fashion-mnist: no IDX files in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
			ctx.skip();
		}
		const { train, test } = await loadDataset('fashion-mnist');
		expect([train.count, test.count]).toEqual([60_000, 10_000]);
		expect([train.width, train.height, train.numClasses]).toEqual([28, 28, 10]);
		expect(histogram(train)).toEqual(new Array(10).fill(6000));
		expect(histogram(test)).toEqual(new Array(10).fill(1000));
	});

	it('names the apt package when the files are missing', async () => {
		await expect(loadFashionMnist('/nonexistent/fashion')).rejects.toThrow('apt-get install -y dataset-fashion-mnist');
	});
});
