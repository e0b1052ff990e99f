import { describe, expect, it } from 'vitest';
import { screenUpdate } from './screening';
import { checkUpdate, clipToNorm, l2Norm, squaredDistance } from './validation';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('checkUpdate', () => {
	it('accepts a finite vector of the right length and reports its norm', () => {
		expect(checkUpdate(f32(3, 4), 2)).toEqual({ ok: true, l2Norm: 5 });
		expect(l2Norm(f32(1, 2, 2))).toBe(3);
		expect(squaredDistance(f32(1, 2), f32(4, -2))).toBe(25);
	});

	it('flags a wrong length as WRONG_SHAPE', () => {
		const r = checkUpdate(f32(3, 4), 3);
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.code).toBe('WRONG_SHAPE');
	});

	it('flags NaN and infinities as NON_FINITE', () => {
		for (const bad of [Number.NaN, Infinity, -Infinity]) {
			const r = checkUpdate(f32(1, bad), 2);
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.code).toBe('NON_FINITE');
		}
	});
});

describe('clipToNorm', () => {
	it('returns the input itself when it is within the bound', () => {
		const d = f32(3, 4);
		const r = clipToNorm(d, 5);
		expect(r.clipped).toBe(false);
		expect(r.delta).toBe(d);
		expect(r.norm).toBe(5);
	});

	it('scales [3, 4] to norm 1 without ever exceeding it', () => {
		const r = clipToNorm(f32(3, 4), 1);
		expect(r.clipped).toBe(true);
		expect(r.norm).toBe(5);
		expect(r.delta[0]).toBeCloseTo(0.6, 6);
		expect(r.delta[1]).toBeCloseTo(0.8, 6);
		expect(l2Norm(r.delta)).toBeLessThanOrEqual(1);
	});

	it('rejects a non-positive bound', () => {
		expect(() => clipToNorm(f32(1), 0)).toThrow(/maxNorm/);
	});
});

describe('screenUpdate', () => {
	it('passes an update within the norm bound unchanged', () => {
		const d = f32(3, 4);
		expect(screenUpdate(d, { expectedLength: 2, maxNorm: 5, normPolicy: 'reject' })).toEqual({ ok: true, delta: d, l2Norm: 5, clipped: false });
	});

	it("rejects an over-norm update with NORM_TOO_LARGE under 'reject'", () => {
		const r = screenUpdate(f32(6, 8), { expectedLength: 2, maxNorm: 5, normPolicy: 'reject' });
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.code).toBe('NORM_TOO_LARGE');
	});

	it("clips an over-norm update under 'clip' and reports the norm as received", () => {
		const r = screenUpdate(f32(6, 8), { expectedLength: 2, maxNorm: 5, normPolicy: 'clip' });
		expect(r.ok && r.clipped).toBe(true);
		if (r.ok) {
			expect(r.l2Norm).toBe(10);
			expect(r.delta[0]).toBeCloseTo(3, 5);
			expect(r.delta[1]).toBeCloseTo(4, 5);
		}
	});

	it('checks shape and finiteness before the norm, and skips norm screening without a bound', () => {
		const shape = screenUpdate(f32(1e9), { expectedLength: 2, maxNorm: 1, normPolicy: 'clip' });
		expect(!shape.ok && shape.code).toBe('WRONG_SHAPE');
		const nan = screenUpdate(f32(Number.NaN, 0), { expectedLength: 2, maxNorm: 1, normPolicy: 'clip' });
		expect(!nan.ok && nan.code).toBe('NON_FINITE');
		const free = screenUpdate(f32(1e9, 0), { expectedLength: 2, normPolicy: 'reject' });
		expect(free.ok && free.clipped).toBe(false);
	});
});
