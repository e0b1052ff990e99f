import { describe, expect, it } from 'vitest';
import { coordinateMedian, krumScores, krumSelect, multiKrum, trimmedMean } from './robust';
import { createStrategy, type StrategyConfig } from './strategy';
import { squaredDistance } from './validation';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('coordinateMedian', () => {
	it('takes the middle value per coordinate (odd n)', () => {
		const m = coordinateMedian([f32(1, 10, -3), f32(2, 0, 5), f32(100, 4, 1)]);
		expect(Array.from(m)).toEqual([2, 4, 1]);
	});

	it('averages the two middle values per coordinate (even n)', () => {
		const m = coordinateMedian([f32(1, 10, -3), f32(2, 0, 5), f32(100, 4, 1), f32(3, -1, 2)]);
		expect(Array.from(m)).toEqual([2.5, 2, 1.5]);
	});
});

describe('trimmedMean', () => {
	const deltas = [f32(1, 3), f32(100, -50), f32(2, 0), f32(4, 1), f32(3, 2)];

	it('drops floor(beta*n) values from each end per coordinate', () => {
		// beta 0.2, n 5: one each side. Coordinate 0: mean(2,3,4); coordinate 1: mean(0,1,2).
		expect(Array.from(trimmedMean(deltas, 0.2))).toEqual([3, 1]);
		// floor(0.39 * 5) = 1 as well
		expect(Array.from(trimmedMean(deltas, 0.39))).toEqual([3, 1]);
	});

	it('with beta below 1/n trims nothing: the plain mean', () => {
		expect(Array.from(trimmedMean(deltas, 0.1))).toEqual([22, -8.8].map(Math.fround));
	});

	it('refuses beta outside [0, 0.5)', () => {
		expect(() => trimmedMean(deltas, 0.5)).toThrow(/\[0, 0.5\)/);
		expect(() => trimmedMean(deltas, -0.1)).toThrow();
	});
});

describe('Krum and Multi-Krum', () => {
	// 1-D points 0, 1, 2, 3, 10 with f = 1: each score sums the n - f - 2 = 2 smallest
	// squared distances. 0: 1+4; 1: 1+1; 2: 1+1; 3: 1+4; 10: 49+64.
	const points = [f32(0), f32(1), f32(2), f32(3), f32(10)];

	it('scores by the sum of squared distances to the n - f - 2 nearest', () => {
		expect(krumScores(points, 1)).toEqual([5, 2, 2, 5, 113]);
	});

	it('Krum picks the lowest score, ties to the earlier update', () => {
		expect(krumSelect(points, 1)).toEqual([1]);
		expect(Array.from(multiKrum(points, 1, 1))).toEqual([1]);
	});

	it('Multi-Krum averages the m lowest scores', () => {
		expect(krumSelect(points, 1, 3)).toEqual([1, 2, 0]);
		expect(Array.from(multiKrum(points, 1, 2))).toEqual([1.5]);
		expect(Array.from(multiKrum(points, 1, 3))).toEqual([1]);
	});

	it('needs n > 2f + 2 and m in [1, n - f]', () => {
		expect(() => krumScores(points.slice(0, 4), 1)).toThrow(/n > 2f \+ 2/);
		expect(() => krumSelect(points, 1, 5)).toThrow(/n - f/);
		expect(() => krumSelect(points, 1, 0)).toThrow();
	});
});

describe('one client scaling its update by 1e3', () => {
	const honest = [f32(0.1, -0.2, 0.3), f32(0.12, -0.18, 0.28), f32(0.08, -0.22, 0.32), f32(0.1, -0.2, 0.3)];
	const attacker = honest[0].map((x) => x * 1e3);
	const honestMean = f32(0.1, -0.2, 0.3);

	function aggregate(config: StrategyConfig): Float32Array {
		const s = createStrategy(config, 3);
		for (const delta of [...honest, attacker]) s.add({ delta, numSamples: 10 });
		return s.finish(new Float32Array(3));
	}

	it('pulls FedAvg far from the honest mean while Krum, median and trimmed mean stay close', () => {
		const distance = (x: Float32Array) => Math.sqrt(squaredDistance(x, honestMean));
		// FedAvg: (4 * honest mean + 1000 * honest[0]) / 5 = 200.8 * [0.1, -0.2, 0.3]
		expect(distance(aggregate({ name: 'fedavg' }))).toBeGreaterThan(50);
		expect(distance(aggregate({ name: 'krum', byzantine: 1 }))).toBeLessThan(0.05);
		expect(distance(aggregate({ name: 'multi-krum', byzantine: 1, selected: 3 }))).toBeLessThan(0.05);
		expect(distance(aggregate({ name: 'median' }))).toBeLessThan(0.05);
		expect(distance(aggregate({ name: 'trimmed-mean', trimFraction: 0.2 }))).toBeLessThan(0.05);
	});
});
