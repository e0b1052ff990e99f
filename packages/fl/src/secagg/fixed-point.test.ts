import { describe, expect, it } from 'vitest';
import { chooseFixedPoint, decodeSum, encodeWeighted, quantisationErrorBound, type FixedPointParams } from './fixed-point';
import { sumModular } from './masking';

const small: FixedPointParams = { clip: 1, scaleBits: 4, maxClients: 4, maxSamplesPerClient: 8 };

describe('chooseFixedPoint', () => {
	it('picks the finest scale whose worst-case sum fits in signed 32-bit', () => {
		// 10·1000·1·2^17 + 10/2 = 1 310 720 005 ≤ 2^31 − 1 < 10·1000·2^18.
		expect(chooseFixedPoint({ maxClients: 10, maxSamplesPerClient: 1000, clip: 1 }).scaleBits).toBe(17);
		// clip 0.25 frees two bits.
		expect(chooseFixedPoint({ maxClients: 10, maxSamplesPerClient: 1000, clip: 0.25 }).scaleBits).toBe(19);
		expect(chooseFixedPoint({ maxClients: 1000, maxSamplesPerClient: 10_000, clip: 1 }).scaleBits).toBe(7);
	});

	it('refuses budgets that leave no fractional bit or let the sample count wrap', () => {
		expect(() => chooseFixedPoint({ maxClients: 200_000, maxSamplesPerClient: 20_000, clip: 1 })).toThrow(/sample count/);
		expect(() => chooseFixedPoint({ maxClients: 1000, maxSamplesPerClient: 2_000_000, clip: 1 })).toThrow(/fractional bit/);
		expect(() => chooseFixedPoint({ maxClients: 0, maxSamplesPerClient: 10, clip: 1 })).toThrow();
		expect(() => chooseFixedPoint({ maxClients: 10, maxSamplesPerClient: 10, clip: 0 })).toThrow();
	});

	it('cannot wrap: maxClients clients at the sample cap and at ±clip decode exactly', () => {
		const params = chooseFixedPoint({ maxClients: 10, maxSamplesPerClient: 1000, clip: 1 });
		const update = encodeWeighted(new Float32Array([5, -5, 1, -1]), 1000, params);
		const sum = sumModular(Array.from({ length: 10 }, () => update));
		expect(sum[0] | 0).toBe(10 * 1000 * 2 ** 17);
		const { mean, totalSamples } = decodeSum(sum, params);
		expect(totalSamples).toBe(10_000);
		expect(Array.from(mean)).toEqual([1, -1, 1, -1]);
	});
});

describe('encodeWeighted', () => {
	it('scales by n_k·2^s, clips, rounds half away from zero and appends n_k', () => {
		// ×3×16 = ×48: 0.5 → 24, −0.25 → −12, 2 → clip 1 → 48, −3 → −48, ±1/32 → ±1.5 → ±2.
		const encoded = encodeWeighted(new Float32Array([0.5, -0.25, 2, -3, 1 / 32, -1 / 32]), 3, small);
		expect(Array.from(encoded)).toEqual([24, 2 ** 32 - 12, 48, 2 ** 32 - 48, 2, 2 ** 32 - 2, 3]);
	});

	it('encodes zero samples as an all-zero contribution', () => {
		expect(Array.from(encodeWeighted(new Float32Array([0.7, -0.7]), 0, small))).toEqual([0, 0, 0]);
	});

	it('rejects non-finite deltas, bad sample counts and overflowing parameters', () => {
		expect(() => encodeWeighted(new Float32Array([Number.NaN]), 1, small)).toThrow(/not finite/);
		expect(() => encodeWeighted(new Float32Array([0]), 9, small)).toThrow(/numSamples/);
		expect(() => encodeWeighted(new Float32Array([0]), 1.5, small)).toThrow(/numSamples/);
		expect(() => encodeWeighted(new Float32Array([0]), 1, { ...small, scaleBits: 30 })).toThrow(/overflow/);
	});
});

describe('decodeSum', () => {
	it('round-trips a weighted mean exactly when no rounding happens', () => {
		// (3·0.5 + 1·0.25) / 4 = 0.4375, (3·−0.25 + 1·0.75) / 4 = 0.
		const a = encodeWeighted(new Float32Array([0.5, -0.25]), 3, small);
		const b = encodeWeighted(new Float32Array([0.25, 0.75]), 1, small);
		const sum = sumModular([a, b]);
		expect(Array.from(sum)).toEqual([28, 0, 4]);
		const { mean, totalSamples } = decodeSum(sum, small);
		expect(totalSamples).toBe(4);
		expect(Array.from(mean)).toEqual([0.4375, 0]);
	});

	it('meets the error bound, which is tight for a half-quantum rounding', () => {
		// 1/32 · 1 · 16 = 0.5 → 1 quantum → decodes to 1/16: off by 1/32 = 1 / (2^5 · 1).
		const { mean } = decodeSum(encodeWeighted(new Float32Array([1 / 32]), 1, small), small);
		expect(mean[0]).toBe(1 / 16);
		expect(quantisationErrorBound(small, 1, 1)).toBe(1 / 32 + 2 ** -23);
		expect(Math.abs(mean[0] - 1 / 32)).toBeLessThanOrEqual(quantisationErrorBound(small, 1, 1));
	});

	it('keeps every coordinate of a many-client mean within the bound', () => {
		const params = chooseFixedPoint({ maxClients: 50, maxSamplesPerClient: 200, clip: 0.5 });
		const length = 64;
		const exact = new Float64Array(length);
		const encoded: Uint32Array[] = [];
		let total = 0;
		for (let k = 0; k < 50; k++) {
			const n = 1 + ((k * 37) % 200);
			const delta = Float32Array.from({ length }, (_, i) => Math.sin(k * 7.1 + i * 1.3) * 0.6);
			for (let i = 0; i < length; i++) exact[i] += n * Math.max(-0.5, Math.min(0.5, delta[i]));
			total += n;
			encoded.push(encodeWeighted(delta, n, params));
		}
		const { mean, totalSamples } = decodeSum(sumModular(encoded), params);
		expect(totalSamples).toBe(total);
		const bound = quantisationErrorBound(params, 50, total);
		for (let i = 0; i < length; i++) expect(Math.abs(mean[i] - exact[i] / total)).toBeLessThanOrEqual(bound);
	});

	it('rejects words that cannot be a sum of encodings', () => {
		expect(() => decodeSum(new Uint32Array([0, 0]), small)).toThrow(/sample count/);
		expect(() => decodeSum(new Uint32Array([0, 33]), small)).toThrow(/sample count/);
		// 2 samples allow |v| ≤ 2·1·16 + 4/2 = 34.
		expect(decodeSum(new Uint32Array([34, 2]), small).mean[0]).toBe(34 / 32);
		expect(() => decodeSum(new Uint32Array([35, 2]), small)).toThrow(/coordinate 0/);
		expect(() => decodeSum(new Uint32Array([2 ** 32 - 35, 2]), small)).toThrow(/coordinate 0/);
	});
});
