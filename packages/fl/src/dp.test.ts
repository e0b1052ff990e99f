import { describe, expect, it } from 'vitest';
import { clipUpdateForDp, createSecureGaussian } from './dp';
import { l2Norm } from './validation';

describe('clipUpdateForDp', () => {
	it('keeps the direction and caps the norm at C', () => {
		const clipped = clipUpdateForDp(Float32Array.from([3, 4]), 1);
		expect(clipped[0]).toBeCloseTo(0.6, 6);
		expect(clipped[1]).toBeCloseTo(0.8, 6);
		expect(l2Norm(clipped)).toBeLessThanOrEqual(1);
		expect(Array.from(clipUpdateForDp(Float32Array.from([0.3, 0.4]), 1))).toEqual([0.3, 0.4].map(Math.fround));
	});
});

describe('createSecureGaussian', () => {
	it('draws with mean 0 and variance 1 (20,000 draws; bounds are 5-7 standard errors)', () => {
		const g = createSecureGaussian();
		const n = 20_000;
		let sum = 0;
		let sumSq = 0;
		for (let i = 0; i < n; i++) {
			const x = g();
			sum += x;
			sumSq += x * x;
		}
		const mean = sum / n;
		expect(Math.abs(mean)).toBeLessThan(0.05);
		expect(Math.abs(sumSq / n - mean * mean - 1)).toBeLessThan(0.05);
	});
});
