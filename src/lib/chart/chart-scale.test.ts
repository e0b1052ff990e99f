import { describe, expect, it } from 'vitest';
import { linePath, linearScale, niceMax, niceTicks } from './chart-scale';

describe('linearScale', () => {
	it('maps the domain onto the range, inverted ranges included', () => {
		const s = linearScale([0, 10], [100, 0]);
		expect(s(0)).toBe(100);
		expect(s(10)).toBe(0);
		expect(s(2.5)).toBe(75);
	});

	it('puts a zero-width domain in the middle', () => {
		expect(linearScale([3, 3], [0, 50])(3)).toBe(25);
	});
});

describe('niceTicks', () => {
	it('picks round steps', () => {
		expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
		expect(niceTicks(1, 7, 3)).toEqual([2, 4, 6]);
		expect(niceTicks(0, 2.3, 4)).toEqual([0, 1, 2]);
		expect(niceTicks(0, 2.3, 8)).toEqual([0, 0.5, 1, 1.5, 2]);
	});

	it('handles degenerate input', () => {
		expect(niceTicks(4, 4)).toEqual([4]);
		expect(niceTicks(0, Number.NaN)).toEqual([]);
	});
});

describe('niceMax', () => {
	it('rounds the largest value up', () => {
		expect(niceMax([0.3, 2.31, 1])).toBe(2.5);
		expect(niceMax([0.07])).toBe(0.08);
		expect(niceMax([])).toBe(1);
		expect(niceMax([Number.NaN, 0], 2)).toBe(2);
	});
});

describe('linePath', () => {
	it('draws through finite points and breaks at gaps', () => {
		const sx = linearScale([1, 4], [0, 300]);
		const sy = linearScale([0, 1], [100, 0]);
		const path = linePath(
			[
				{ x: 1, y: 0.5 },
				{ x: 2, y: 0.75 },
				{ x: 3, y: Number.NaN },
				{ x: 4, y: 1 }
			],
			sx,
			sy
		);
		expect(path).toBe('M0,50L100,25M300,0');
	});
});
