import { describe, expect, it } from 'vitest';
import { FedAvgAccumulator, aggregateFedAvg, applyDelta } from './fedavg';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('FedAvgAccumulator', () => {
	it('weights each delta by its weight: (1*[1,2,3] + 3*[3,-2,0.5]) / 4', () => {
		const acc = new FedAvgAccumulator(3);
		acc.add(f32(1, 2, 3), 1);
		acc.add(f32(3, -2, 0.5), 3);
		expect(acc.count).toBe(2);
		expect(acc.totalWeight).toBe(4);
		expect(Array.from(acc.mean())).toEqual([2.5, -1, 1.125]);
	});

	it('copies values in: changing a delta after add() does not change the mean', () => {
		const acc = new FedAvgAccumulator(2);
		const delta = f32(2, 4);
		acc.add(delta, 1);
		delta.fill(100);
		acc.add(f32(0, 0), 1);
		expect(Array.from(acc.mean())).toEqual([1, 2]);
	});

	it('rejects a wrong length and non-positive or non-finite weights', () => {
		const acc = new FedAvgAccumulator(2);
		expect(() => acc.add(f32(1, 2, 3), 1)).toThrow(/3 values, expected 2/);
		expect(() => acc.add(f32(1, 2), 0)).toThrow(/weight/);
		expect(() => acc.add(f32(1, 2), -1)).toThrow(/weight/);
		expect(() => acc.add(f32(1, 2), Number.NaN)).toThrow(/weight/);
		expect(acc.count).toBe(0);
		expect(() => acc.mean()).toThrow(/no updates/);
	});
});

describe('applyDelta and aggregateFedAvg', () => {
	it('returns global + scale * delta without touching the inputs', () => {
		const global = f32(1, 1, 1);
		expect(Array.from(applyDelta(global, f32(2.5, -1, 1.125), 2))).toEqual([6, -1, 3.25]);
		expect(Array.from(applyDelta(global, f32(0.5, 0, -1)))).toEqual([1.5, 1, 0]);
		expect(Array.from(global)).toEqual([1, 1, 1]);
		expect(() => applyDelta(global, f32(1))).toThrow();
	});

	it('averages a list the same way as the accumulator', () => {
		const mean = aggregateFedAvg([
			{ delta: f32(4, 0), weight: 1 },
			{ delta: f32(0, 8), weight: 3 }
		]);
		expect(Array.from(mean)).toEqual([1, 6]);
	});
});
