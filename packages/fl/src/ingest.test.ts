import { describe, expect, it } from 'vitest';
import { FedAvgAccumulator } from './fedavg';
import { screenAndMeasure, scanUpdate } from './ingest';
import { createRng } from './random';
import { screenUpdate } from './screening';
import { relativeDistance, relativeDistanceFromTerms } from './trust';
import { checkUpdate, clipToNorm, l2Norm } from './validation';

const f32 = (...xs: number[]) => new Float32Array(xs);

describe('scanUpdate', () => {
	it('sums squares, distance and reference terms exactly on a small vector', () => {
		expect(scanUpdate(f32(3, 4))).toEqual({ nonFinite: -1, sumSquares: 25, distanceSquares: 0, referenceSquares: 0 });
		// (3-1)^2 + (4-2)^2 = 8; 1 + 4 = 5
		expect(scanUpdate(f32(3, 4), f32(1, 2))).toEqual({ nonFinite: -1, sumSquares: 25, distanceSquares: 8, referenceSquares: 5 });
		expect(scanUpdate(f32())).toEqual({ nonFinite: -1, sumSquares: 0, distanceSquares: 0, referenceSquares: 0 });
	});

	it('stops at the first NaN or infinity', () => {
		expect(scanUpdate(f32(1, Number.NaN, Infinity)).nonFinite).toBe(1);
		expect(scanUpdate(f32(1, 2, -Infinity), f32(0, 0, 0)).nonFinite).toBe(2);
		expect(scanUpdate(f32(3.4e38, -3.4e38, 1.4e-45, -0)).nonFinite).toBe(-1);
	});

	it('refuses a reference of another length', () => {
		expect(() => scanUpdate(f32(1, 2), f32(1))).toThrow(/reference has 1 values/);
	});
});

describe('relativeDistanceFromTerms', () => {
	it('is sqrt(distance) / sqrt(reference), 0 or Infinity against a zero reference', () => {
		expect(relativeDistanceFromTerms(8, 2)).toBe(2);
		expect(relativeDistanceFromTerms(0, 0)).toBe(0);
		expect(relativeDistanceFromTerms(1, 0)).toBe(Infinity);
	});
});

describe('screenAndMeasure', () => {
	const options = { expectedLength: 2, normPolicy: 'reject' as const };

	it('keeps the update itself, with its norm and its distance to the reference', () => {
		const d = f32(3, 4);
		const r = screenAndMeasure(d, { ...options, maxNorm: 5, reference: f32(3, 0) });
		// ||(0, 4)|| / ||(3, 0)|| = 4 / 3
		expect(r).toEqual({ ok: true, delta: d, l2Norm: 5, clipped: false, distance: 4 / 3 });
		if (r.ok) expect(r.delta).toBe(d);
	});

	it('gives no distance without a reference or with one of another length', () => {
		expect(screenAndMeasure(f32(3, 4), options)).toMatchObject({ ok: true, distance: null });
		expect(screenAndMeasure(f32(3, 4), { ...options, reference: f32(1, 2, 3) })).toMatchObject({ ok: true, distance: null });
		expect(screenAndMeasure(f32(3, 4), { ...options, reference: f32(0, 0) })).toMatchObject({ ok: true, distance: Infinity });
	});

	it('rejects with the same codes and messages as screenUpdate', () => {
		for (const [delta, opts] of [
			[f32(1), { ...options, maxNorm: 1 }],
			[f32(Number.NaN, 0), { ...options, maxNorm: 1 }],
			[f32(0, -Infinity), options],
			[f32(6, 8), { ...options, maxNorm: 5 }]
		] as const) {
			const fused = screenAndMeasure(delta, { ...opts, reference: f32(1, 1) });
			expect(fused).toEqual(screenUpdate(delta, opts));
			expect(fused.ok).toBe(false);
		}
		expect(screenAndMeasure(f32(6, 8), { ...options, maxNorm: 5 })).toMatchObject({ code: 'NORM_TOO_LARGE', message: 'update norm 10 exceeds the bound 5' });
		expect(screenAndMeasure(f32(1, Number.NaN), options)).toMatchObject({ code: 'NON_FINITE', message: 'update value 1 is NaN' });
	});

	it('clips to the bound into a new array and measures the clipped vector', () => {
		const d = f32(6, 8);
		const r = screenAndMeasure(d, { expectedLength: 2, maxNorm: 5, normPolicy: 'clip', reference: f32(3, 0) });
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(Array.from(r.delta)).toEqual([3, 4]);
		expect(r.delta).not.toBe(d);
		expect(Array.from(d)).toEqual([6, 8]);
		expect(r).toMatchObject({ l2Norm: 10, clipped: true, distance: 4 / 3 });
	});
});

describe('fused ingestion equals the old multi-pass path', () => {
	function randomVector(n: number, rand: () => number, scale: number): Float32Array {
		const v = new Float32Array(n);
		for (let i = 0; i < n; i++) v[i] = (rand() * 2 - 1) * scale;
		return v;
	}

	it('on random vectors: the same norm, distance, clipped delta and FedAvg sum, bit for bit', () => {
		const rng = createRng(11);
		const rand = () => rng.next();
		const n = 4097;
		const reference = randomVector(n, rand, 0.01);
		const fusedAcc = new FedAvgAccumulator(n);
		const oldAcc = new FedAvgAccumulator(n);
		for (let k = 0; k < 20; k++) {
			const delta = randomVector(n, rand, k % 3 === 0 ? 1 : 0.02);
			const maxNorm = 2;
			const policy = k % 2 === 0 ? ('clip' as const) : ('reject' as const);
			const weight = 1 + (k % 7) * 13;

			// The old path: screenUpdate (checkUpdate, clipToNorm), fold, relativeDistance.
			const old = screenUpdate(delta, { expectedLength: n, maxNorm, normPolicy: policy });
			const fused = screenAndMeasure(delta, { expectedLength: n, maxNorm, normPolicy: policy, reference });
			expect(fused.ok).toBe(old.ok);
			if (!old.ok || !fused.ok) {
				expect(fused).toEqual(old);
				continue;
			}
			expect(fused.l2Norm).toBe(old.l2Norm);
			expect(fused.clipped).toBe(old.clipped);
			expect(Array.from(fused.delta)).toEqual(Array.from(old.delta));
			expect(fused.distance).toBe(relativeDistance(old.delta, reference));
			oldAcc.add(old.delta, weight);
			fusedAcc.add(fused.delta, weight);
		}
		expect(oldAcc.count).toBeGreaterThan(5);
		expect(Array.from(fusedAcc.weightedSum())).toEqual(Array.from(oldAcc.weightedSum()));
		expect(Array.from(fusedAcc.mean())).toEqual(Array.from(oldAcc.mean()));
	});

	it('scan sums equal l2Norm, checkUpdate and relativeDistance exactly', () => {
		const rng = createRng(5);
		const rand = () => rng.next();
		for (let k = 0; k < 10; k++) {
			const delta = randomVector(1000 + k, rand, 10 ** (k - 5));
			const reference = randomVector(1000 + k, rand, 10 ** (3 - k));
			const scan = scanUpdate(delta, reference);
			expect(Math.sqrt(scan.sumSquares)).toBe(l2Norm(delta));
			expect(checkUpdate(delta, delta.length)).toEqual({ ok: true, l2Norm: Math.sqrt(scan.sumSquares) });
			expect(Math.sqrt(scan.referenceSquares)).toBe(l2Norm(reference));
			expect(relativeDistanceFromTerms(scan.distanceSquares, scan.referenceSquares)).toBe(relativeDistance(delta, reference));
			expect(clipToNorm(delta, 1e9).norm).toBe(Math.sqrt(scan.sumSquares));
		}
	});
});
