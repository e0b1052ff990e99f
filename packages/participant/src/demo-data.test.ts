import { describe, expect, it } from 'vitest';
import { encodeShard } from '@qflare/protocol';
import { splitIndices } from '@qflare/data-import';
import { DemoDataProvider, shardCacheKey, splitShard } from './demo-data';
import type { ShardCache } from './ports';
import type { LoginReply } from '@qflare/protocol';

/** Ten rows of two bytes each: row i holds (10 i, 10 i + 1) and label i. */
function rows(count = 10) {
	const images = new Uint8Array(count * 2).map((_, j) => 10 * (j >> 1) + (j & 1));
	const labels = new Uint8Array(count).map((_, i) => i);
	return { count, images, labels };
}

describe('splitShard', () => {
	it('holds out a fixed, seeded set of rows and keeps the row order in both parts', () => {
		const { train, holdOut } = splitShard(rows(), 0.3, 7);
		expect(holdOut).not.toBeNull();
		const heldLabels = Array.from(holdOut!.targets);
		const trainLabels = Array.from(train.targets);
		expect(heldLabels).toEqual([5, 6, 8]);
		// The rule imported data follows, so demo and local hold-outs are drawn alike.
		expect(heldLabels).toEqual(Array.from(splitIndices(10, { holdOutFraction: 0.3, seed: 7 }).holdOut));
		expect(trainLabels).toEqual([0, 1, 2, 3, 4, 7, 9]);
		expect(Array.from(holdOut!.inputs)).toEqual([50, 51, 60, 61, 80, 81]);
		expect(train.count).toBe(7);
		expect(train.inputs.length).toBe(14);
		expect(Array.from(train.inputs.subarray(0, 4))).toEqual([0, 1, 10, 11]);
		// The same seed gives the same split on every reload; another seed another one.
		expect(Array.from(splitShard(rows(), 0.3, 7).holdOut!.targets)).toEqual(heldLabels);
		expect(Array.from(splitShard(rows(), 0.3, 8).holdOut!.targets)).not.toEqual(heldLabels);
	});

	it('keeps every row for training when nothing is held out', () => {
		const set = rows(4);
		const { train, holdOut } = splitShard(set, 0, 1);
		expect(holdOut).toBeNull();
		expect(train).toEqual({ count: 4, inputs: set.images, targets: set.labels });
	});
});

describe('DemoDataProvider', () => {
	it('downloads the shard once, then reads it from the cache, and splits it by the project seed', async () => {
		const stored = new Map<string, Uint8Array>();
		const cache: ShardCache = { get: async (k) => stored.get(k), put: async (k, v) => void stored.set(k, v) };
		const images = new Uint8Array(20 * 784).map((_, i) => i % 251);
		const labels = new Uint8Array(20).map((_, i) => i % 10);
		const downloads: string[] = [];
		const provider = new DemoDataProvider(cache, async (path) => {
			downloads.push(path);
			return encodeShard({ count: 20, width: 28, height: 28, numClasses: 10, images, labels });
		});
		const login = {
			ok: true,
			deviceId: 'dev-1',
			shardIndex: 2,
			shardPath: '/shard?device=dev-1',
			project: { id: 'p', dataset: 'fashion-mnist', holdOutFraction: 0.15, seed: 3 }
		} as LoginReply;
		const notes: string[] = [];
		const first = await provider.load(login, (m) => notes.push(m));
		expect(downloads).toEqual(['/shard?device=dev-1']);
		expect(stored.has(shardCacheKey('p', 'dev-1', 2))).toBe(true);
		expect(first.task).toMatchObject({ kind: 'image-classification', width: 28, height: 28, channels: 1, classes: expect.arrayContaining(['Trouser']) });
		expect([first.train.count, first.holdOut?.count]).toEqual([17, 3]);
		expect(first.stats).toBeNull();
		expect(first.origin).toBe('data shard 2 downloaded');

		const second = await provider.load(login, (m) => notes.push(m));
		expect(downloads).toHaveLength(1);
		expect(second.origin).toBe('data shard 2 loaded from local storage');
		expect(Array.from(second.holdOut!.targets)).toEqual(Array.from(first.holdOut!.targets));
		expect(notes).toEqual(['downloading data shard 2']);
	});
});
