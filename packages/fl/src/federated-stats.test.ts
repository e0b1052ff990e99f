import { describe, expect, it } from 'vitest';
import { columnScale, mergeFeatureStats } from './federated-stats';

describe('mergeFeatureStats', () => {
	it('gives the mean and population std of all rows from per-device sums', () => {
		// Device A holds x = 1, 2, 3; device B holds x = 4, 10. All five: mean 4, variance 10.
		const a = { columns: { x: { count: 3, sum: 6, sumSquares: 14 }, y: { count: 3, sum: 3, sumSquares: 3 } } };
		const b = { columns: { x: { count: 2, sum: 14, sumSquares: 116 }, y: { count: 2, sum: 2, sumSquares: 2 } } };
		const merged = mergeFeatureStats([a, b]);
		expect(merged.columns.x).toEqual({ mean: 4, std: Math.sqrt(10) });
		// y is 1 everywhere: constant columns scale by 1, never by 0.
		expect(merged.columns.y).toEqual({ mean: 1, std: 1 });
		expect(merged.rows).toBe(5);
		expect(merged.devices).toBe(2);
	});

	it('refuses reports with different columns', () => {
		const a = { columns: { x: { count: 1, sum: 1, sumSquares: 1 } } };
		const b = { columns: { z: { count: 1, sum: 1, sumSquares: 1 } } };
		expect(() => mergeFeatureStats([a, b])).toThrow(/report 1 has columns \[z\], expected \[x\]/);
		expect(() => mergeFeatureStats([])).toThrow(/no reports/);
	});

	it('treats a variance within the rounding error of mean^2 as a constant column', () => {
		// 1e8 + 0.1 three times: in doubles E[x^2] - mean^2 comes out as 2, not 0.
		const v = 1e8 + 0.1;
		expect(columnScale(3, 3 * v, 3 * v * v).std).toBe(1);
		// A real spread on a large mean survives: values 1000 +- 2.
		expect(columnScale(2, 2000, 998 ** 2 + 1002 ** 2)).toEqual({ mean: 1000, std: 2 });
		expect(columnScale(0, 0, 0)).toEqual({ mean: 0, std: 1 });
	});

	it('keeps the spread of a column measured in tiny units', () => {
		// 0.5e-9 and 1.5e-9 (metres, say): mean 1e-9, std 0.5e-9. Not constant, or the feature would be erased.
		const tiny = columnScale(2, 2e-9, 0.5e-9 ** 2 + 1.5e-9 ** 2);
		expect(tiny.mean).toBe(1e-9);
		expect(tiny.std / 0.5e-9).toBeCloseTo(1, 9);
	});
});
