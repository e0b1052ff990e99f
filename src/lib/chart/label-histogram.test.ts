import { describe, expect, it } from 'vitest';
import { histogramBars, histogramTitle } from './label-histogram';

describe('label histogram', () => {
	it('scales bars to the largest count', () => {
		const bars = histogramBars([0, 5, 10, 2.5], 20);
		expect(bars.map((b) => b.height)).toEqual([0, 10, 20, 5]);
		expect(bars.map((b) => b.label)).toEqual([0, 1, 2, 3]);
	});

	it('keeps a rare label visible next to a dominant one', () => {
		expect(histogramBars([1000, 1], 20)[1].height).toBe(1);
	});

	it('draws nothing for an empty or invalid shard', () => {
		expect(histogramBars([0, 0, 0], 20).map((b) => b.height)).toEqual([0, 0, 0]);
		expect(histogramBars([Number.NaN, -3, 4], 20).map((b) => b.count)).toEqual([0, 0, 4]);
		expect(histogramBars([], 20)).toEqual([]);
	});

	it('titles with the total and per-label counts', () => {
		expect(histogramTitle([3, 0, 7])).toBe('10 samples · 0: 3, 1: 0, 2: 7');
	});
});
