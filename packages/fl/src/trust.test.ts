import { describe, expect, it } from 'vitest';
import { INITIAL_TRUST, relativeDistance, trustScore, updateTrust } from './trust';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('updateTrust', () => {
	it('counts outcomes and keeps the running mean distance of accepted updates', () => {
		const a = updateTrust(INITIAL_TRUST, { accepted: true, distance: 0.5 });
		expect(a).toEqual({ accepted: 1, rejected: 0, meanDistance: 0.5 });
		const b = updateTrust(a, { accepted: true, distance: 1.5 });
		expect(b).toEqual({ accepted: 2, rejected: 0, meanDistance: 1 });
		const c = updateTrust(b, { accepted: false });
		expect(c).toEqual({ accepted: 2, rejected: 1, meanDistance: 1 });
		expect(() => updateTrust(c, { accepted: true, distance: -1 })).toThrow();
	});
});

describe('trustScore', () => {
	it('is the smoothed acceptance share over 1 + mean distance', () => {
		expect(trustScore(INITIAL_TRUST)).toBe(0.5);
		// (2 + 1) / (3 + 2) / (1 + 1)
		expect(trustScore({ accepted: 2, rejected: 1, meanDistance: 1 })).toBe(0.3);
		expect(trustScore({ accepted: 8, rejected: 0, meanDistance: 0 })).toBe(0.9);
	});

	it('stays in [0, 1] at the extremes', () => {
		const bad = trustScore({ accepted: 0, rejected: 1e6, meanDistance: Number.MAX_VALUE });
		expect(bad).toBeGreaterThanOrEqual(0);
		expect(bad).toBeLessThan(1e-6);
		expect(trustScore({ accepted: 1e9, rejected: 0, meanDistance: 0 })).toBeLessThanOrEqual(1);
	});
});

describe('relativeDistance', () => {
	it('is ||delta - aggregate|| / ||aggregate||', () => {
		expect(relativeDistance(f32(3, 4), f32(0, 8))).toBe(5 / 8);
		expect(relativeDistance(f32(1, 1), f32(1, 1))).toBe(0);
		expect(relativeDistance(f32(1, 0), f32(0, 0))).toBe(Infinity);
		expect(updateTrust(INITIAL_TRUST, { accepted: true, distance: Infinity }).meanDistance).toBe(Number.MAX_VALUE);
	});
});
