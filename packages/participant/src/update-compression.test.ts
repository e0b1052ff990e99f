import { describe, expect, it } from 'vitest';
import { decodeWeights, readWeightHeader } from '@qflare/protocol';
import { largestMagnitudes, UpdateCompressor } from './update-compression';

const topK = (fraction: number) => ({ kind: 'top-k', fraction }) as const;

describe('largestMagnitudes', () => {
	it('picks the k largest by absolute value, ascending, ties to the lower index', () => {
		const v = new Float32Array([0.5, -3, 2, 0.5, -0.5, 1]);
		expect(Array.from(largestMagnitudes(v, 2))).toEqual([1, 2]);
		expect(Array.from(largestMagnitudes(v, 4))).toEqual([0, 1, 2, 5]);
		expect(Array.from(largestMagnitudes(v, 5))).toEqual([0, 1, 2, 3, 5]);
		expect(Array.from(largestMagnitudes(v, 6))).toEqual([0, 1, 2, 3, 4, 5]);
		expect(Array.from(largestMagnitudes(v, 0))).toEqual([]);
	});
});

describe('UpdateCompressor', () => {
	it('sends top-k of delta + residual and keeps the rest on the device', () => {
		const c = new UpdateCompressor();
		// fraction 0.4 of 5 values: k = 2.
		const first = c.encode(new Float32Array([0.1, -0.9, 0.3, 0.5, -0.2]), topK(0.4));
		expect(readWeightHeader(first)).toEqual({ dtype: 'top-k', count: 5, kept: 2 });
		expect(Array.from(decodeWeights(first).values)).toEqual([0, -0.9, 0, 0.5, 0].map(Math.fround));
		expect(Array.from(c.residual() ?? [])).toEqual([0.1, 0, 0.3, 0, -0.2].map(Math.fround));
		// Round 2: Δ + e = [0.2, 0.1, 0.35, 0, -0.5]; the residual's 0.3 now wins a place.
		const second = c.encode(new Float32Array([0.1, 0.1, 0.05, 0, -0.3]), topK(0.4));
		const sent = decodeWeights(second).values;
		expect(Array.from(sent)).toEqual([0, 0, Math.fround(Math.fround(0.3) + Math.fround(0.05)), 0, Math.fround(Math.fround(-0.2) + Math.fround(-0.3))]);
		expect(Array.from(c.residual() ?? [])).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.1)), Math.fround(0.1), 0, 0, 0]);
	});

	it('conserves the total: everything sent plus the residual equals every delta summed', () => {
		const c = new UpdateCompressor();
		const n = 1000;
		const total = new Float64Array(n);
		const sentSum = new Float64Array(n);
		for (let round = 0; round < 5; round++) {
			const delta = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + round) * 0.01);
			delta.forEach((v, i) => (total[i] += v));
			const payload = c.encode(delta, topK(0.1));
			expect(readWeightHeader(payload).kept).toBe(100);
			decodeWeights(payload).values.forEach((v, i) => (sentSum[i] += v));
		}
		const residual = c.residual() ?? new Float32Array(n);
		let worst = 0;
		for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(sentSum[i] + residual[i] - total[i]));
		expect(worst).toBeLessThan(1e-8);
	});

	it('resets the residual when the model length changes or another encoding is used', () => {
		const c = new UpdateCompressor();
		c.encode(new Float32Array([1, 2, 3, 4]), topK(0.25));
		expect(Array.from(c.residual() ?? [])).toEqual([1, 2, 3, 0]);
		// A 3-value model: the old 4-value residual is dropped, not added.
		const other = c.encode(new Float32Array([5, 0, 0]), topK(0.34));
		expect(Array.from(decodeWeights(other).values)).toEqual([5, 0, 0]);
		expect(Array.from(c.residual() ?? [])).toEqual([0, 0, 0]);
		c.encode(new Float32Array([1, 1, 1]), { kind: 'f16' });
		expect(c.residual()).toBeNull();
		const after = c.encode(new Float32Array([0, 0, 1]), topK(0.34));
		expect(Array.from(decodeWeights(after).values)).toEqual([0, 0, 1]);
	});

	it('encodes f32, f16 and int8 per tensor with the injected random source', () => {
		const draws = [0.5, 0.5, 0.5, 0.5];
		const c = new UpdateCompressor({ random: () => draws.pop() ?? 0.5 });
		const delta = new Float32Array([0.5, -1, 4, 2]);
		expect(decodeWeights(c.encode(delta, { kind: 'f32' })).dtype).toBe('f32');
		expect(Array.from(decodeWeights(c.encode(delta, { kind: 'f16' })).values)).toEqual([0.5, -1, 4, 2]);
		const int8 = c.encode(delta, { kind: 'int8' }, [2, 2]);
		expect(draws.length).toBe(0);
		expect(int8.byteLength).toBe(16 + 4 + 2 * 8 + 4);
		// Segment maxima 1 and 4 are exact at level 127; 0.5 is level 63.5 + 0.5 = 64.
		expect(Array.from(decodeWeights(int8).values)).toEqual([64 * Math.fround(1 / 127), -1, 4, Math.fround(64 * Math.fround(4 / 127))]);
		expect(() => c.encode(delta, { kind: 'int8' }, [3, 2])).toThrow(RangeError);
	});
});
