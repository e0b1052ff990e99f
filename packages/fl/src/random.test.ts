import { describe, expect, it } from 'vitest';
import { createRng, shuffleInPlace } from './random';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
	let sum = 0;
	let sumSq = 0;
	for (let i = 0; i < n; i++) {
		const x = draw();
		sum += x;
		sumSq += x * x;
	}
	const mean = sum / n;
	return { mean, variance: sumSq / n - mean * mean };
}

describe('createRng', () => {
	it('repeats a sequence for a seed and differs across seeds', () => {
		const a = createRng(42);
		const b = createRng(42);
		const c = createRng(43);
		const seqA = Array.from({ length: 5 }, () => a.next());
		expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
		expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
	});

	it('draws uniforms in [0, 1) with mean 1/2 and variance 1/12', () => {
		const rng = createRng(1);
		let min = 1;
		let max = 0;
		const { mean, variance } = moments(() => {
			const x = rng.next();
			min = Math.min(min, x);
			max = Math.max(max, x);
			return x;
		}, 100_000);
		expect(min).toBeGreaterThanOrEqual(0);
		expect(max).toBeLessThan(1);
		expect(mean).toBeCloseTo(0.5, 2);
		expect(variance).toBeCloseTo(1 / 12, 2);
	});

	it('draws integers covering exactly 0..n-1', () => {
		const rng = createRng(2);
		const seen = new Set<number>();
		for (let i = 0; i < 1000; i++) seen.add(rng.int(7));
		expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
		expect(() => rng.int(0)).toThrow('positive integer');
	});

	it('draws standard normals', () => {
		const rng = createRng(3);
		const { mean, variance } = moments(() => rng.normal(), 100_000);
		expect(Math.abs(mean)).toBeLessThan(0.02);
		expect(Math.abs(variance - 1)).toBeLessThan(0.02);
	});

	it('draws Gamma(k, 1) with mean k and variance k, also for k < 1', () => {
		const rng = createRng(4);
		for (const shape of [0.1, 0.5, 1, 2.5, 10]) {
			const { mean, variance } = moments(() => rng.gamma(shape), 50_000);
			expect(Math.abs(mean - shape) / shape).toBeLessThan(0.05);
			expect(Math.abs(variance - shape) / shape).toBeLessThan(0.1);
		}
		expect(() => rng.gamma(0)).toThrow('gamma shape');
	});

	it('shuffles into a permutation, deterministically', () => {
		const items = Array.from({ length: 50 }, (_, i) => i);
		const once = shuffleInPlace(items.slice(), createRng(5));
		expect(once).not.toEqual(items);
		expect(once.slice().sort((a, b) => a - b)).toEqual(items);
		expect(shuffleInPlace(items.slice(), createRng(5))).toEqual(once);
	});
});
