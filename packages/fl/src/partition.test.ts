import { describe, expect, it } from 'vitest';
import { dirichletPartition, iidPartition, labelHistogram } from './partition';

function sortedUnion(shards: number[][]): number[] {
	return shards.flat().sort((a, b) => a - b);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
// 8,000 examples, 800 per class, interleaved like a shuffled dataset.
const balancedLabels = Uint8Array.from({ length: 8000 }, (_, i) => i % 10);

describe('iidPartition', () => {
	it('splits into near-equal shards covering every index once', () => {
		const shards = iidPartition(10, 3, 1);
		expect(shards.map((s) => s.length)).toEqual([4, 3, 3]);
		expect(sortedUnion(shards)).toEqual(range(10));
		const big = iidPartition(8000, 7, 9);
		expect(big.map((s) => s.length)).toEqual([1143, 1143, 1143, 1143, 1143, 1143, 1142]);
		expect(sortedUnion(big)).toEqual(range(8000));
	});

	it('is deterministic for a seed, shuffled, and seed-dependent', () => {
		const a = iidPartition(100, 4, 7);
		expect(iidPartition(100, 4, 7)).toEqual(a);
		expect(iidPartition(100, 4, 8)).not.toEqual(a);
		expect(a[0]).not.toEqual(range(25));
	});

	it('handles more shards than examples and bad arguments', () => {
		expect(iidPartition(2, 3, 1).map((s) => s.length)).toEqual([1, 1, 0]);
		expect(iidPartition(0, 2, 1)).toEqual([[], []]);
		expect(() => iidPartition(10, 0, 1)).toThrow('shardCount');
		expect(() => iidPartition(-1, 2, 1)).toThrow('count');
	});
});

describe('dirichletPartition', () => {
	it('covers every index exactly once and is deterministic for a seed', () => {
		const shards = dirichletPartition(balancedLabels, 10, 10, 0.5, 1);
		expect(shards).toHaveLength(10);
		expect(sortedUnion(shards)).toEqual(range(8000));
		expect(dirichletPartition(balancedLabels, 10, 10, 0.5, 1)).toEqual(shards);
		expect(dirichletPartition(balancedLabels, 10, 10, 0.5, 2)).not.toEqual(shards);
	});

	it('skews label histograms for small alpha', () => {
		const shards = dirichletPartition(balancedLabels, 10, 10, 0.1, 3);
		const topShare = shards
			.filter((s) => s.length > 0)
			.map((s) => Math.max(...labelHistogram(balancedLabels, s, 10)) / s.length);
		const meanTopShare = topShare.reduce((a, b) => a + b, 0) / topShare.length;
		// IID would give about 0.1 per class; a skewed split has one dominant class.
		expect(meanTopShare).toBeGreaterThan(0.5);
		const sizes = shards.map((s) => s.length);
		expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(2);
	});

	it('gives near-uniform histograms for large alpha', () => {
		const shards = dirichletPartition(balancedLabels, 10, 10, 1000, 4);
		for (const shard of shards) {
			for (const count of labelHistogram(balancedLabels, shard, 10)) {
				// Expected 80 per class per shard; Dirichlet(1000) sd is about 2.4.
				expect(count).toBeGreaterThanOrEqual(70);
				expect(count).toBeLessThanOrEqual(90);
			}
		}
	});

	it('keeps each class count exact across shards', () => {
		const labels = Uint8Array.from([0, 0, 0, 1, 1, 2]);
		const shards = dirichletPartition(labels, 3, 2, 0.3, 5);
		const totals = shards.map((s) => labelHistogram(labels, s, 3)).reduce((a, h) => a.map((v, i) => v + h[i]));
		expect(totals).toEqual([3, 2, 1]);
	});

	it('survives alpha so small that gamma draws underflow', () => {
		const shards = dirichletPartition(balancedLabels, 10, 5, 1e-6, 6);
		expect(sortedUnion(shards)).toEqual(range(8000));
		for (const shard of shards) {
			const nonEmptyClasses = labelHistogram(balancedLabels, shard, 10).filter((c) => c > 0);
			// Each class goes whole to one shard.
			for (const c of nonEmptyClasses) expect(c).toBe(800);
		}
	});

	it('rejects bad labels and parameters', () => {
		expect(() => dirichletPartition([0, 10], 10, 2, 0.5, 1)).toThrow('label 10 at index 1 is outside 0..9');
		expect(() => dirichletPartition([0, 1], 2, 2, 0, 1)).toThrow('alpha');
		expect(() => dirichletPartition([0, 1], 2, 0, 1, 1)).toThrow('shardCount');
	});
});

describe('labelHistogram', () => {
	it('counts labels of the selected indices', () => {
		expect(labelHistogram([0, 1, 1, 2, 2, 2], [1, 2, 3], 4)).toEqual([0, 2, 1, 0]);
		expect(labelHistogram([0, 1], [], 2)).toEqual([0, 0]);
		expect(() => labelHistogram([0, 5], [1], 3)).toThrow('outside 0..2');
	});
});
