import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors';
import {
	decodeMaskedWords,
	decodeWeights,
	encodeMaskedWords,
	encodeTopK,
	encodeWeights,
	float16ToFloat32,
	float32ToFloat16,
	int8WeightBytes,
	readWeightHeader,
	topKCount,
	topKWeightBytes
} from './weight-codec';

describe('weight codec', () => {
	it('round-trips float32 bit-exactly, including at an unaligned offset', () => {
		const values = new Float32Array([0, -1.5, 3.25, 1e-30, -7e20, Math.PI]);
		const encoded = encodeWeights(values);
		expect(encoded.byteLength).toBe(16 + 6 * 4);
		const framed = new Uint8Array(encoded.byteLength + 3);
		framed.set(encoded, 3);
		const decoded = decodeWeights(framed.subarray(3));
		expect(decoded.dtype).toBe('f32');
		expect(Array.from(decoded.values)).toEqual(Array.from(values));
	});

	it('decodes from a Node Buffer that is a view into a larger pooled slab', () => {
		const values = new Float32Array([1.5, -2.25, 8]);
		const encoded = encodeWeights(values);
		const slab = Buffer.alloc(4096, 7);
		encoded.forEach((b, i) => (slab[100 + i] = b));
		const view = slab.subarray(100, 100 + encoded.byteLength);
		expect(Array.from(decodeWeights(view).values)).toEqual([1.5, -2.25, 8]);
	});

	it('with share, views an aligned f32 payload in place and copies an unaligned one', () => {
		const values = new Float32Array([1.5, -2.25, 8]);
		const encoded = encodeWeights(values);
		const framed = new Uint8Array(encoded.byteLength + 8);
		framed.set(encoded, 4);
		const aligned = decodeWeights(framed.subarray(4, 4 + encoded.byteLength), { share: true });
		expect(aligned.copied).toBe(false);
		expect(aligned.values.buffer).toBe(framed.buffer);
		expect(aligned.values.byteOffset).toBe(4 + 16);
		expect(Array.from(aligned.values)).toEqual([1.5, -2.25, 8]);
		framed.set(encoded, 3);
		const unaligned = decodeWeights(framed.subarray(3, 3 + encoded.byteLength), { share: true });
		expect(unaligned.copied).toBe(true);
		expect(unaligned.values.buffer).not.toBe(framed.buffer);
		expect(Array.from(unaligned.values)).toEqual([1.5, -2.25, 8]);
		// Without share (the default) an aligned payload is copied too; f16 always decodes into new memory.
		expect(decodeWeights(encoded).copied).toBe(true);
		expect(decodeWeights(encodeWeights(values, 'f16'), { share: true }).copied).toBe(true);
	});

	it('converts float16 with round-to-nearest-even and known bit patterns', () => {
		expect(float32ToFloat16(1)).toBe(0x3c00);
		expect(float32ToFloat16(-2)).toBe(0xc000);
		expect(float32ToFloat16(65504)).toBe(0x7bff);
		expect(float32ToFloat16(65520)).toBe(0x7c00); // rounds up to infinity
		expect(float32ToFloat16(2 ** -24)).toBe(0x0001); // smallest subnormal
		expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
		expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02);
		expect(float16ToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
		expect(Number.isNaN(float16ToFloat32(float32ToFloat16(NaN)))).toBe(true);
	});

	it('round-trips float16 within half-precision error', () => {
		const values = new Float32Array([0.1, -0.25, 0.333, 12.5, -0.0001]);
		const { dtype, values: back } = decodeWeights(encodeWeights(values, 'f16'));
		expect(dtype).toBe('f16');
		back.forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11));
		expect(back[3]).toBe(12.5);
		expect(back[1]).toBe(-0.25);
	});

	it('quantizes int8 per segment with stochastic rounding: q = floor(x / scale + u)', () => {
		// Two tensors: [1.27, -0.635, 0.005] (scale 0.01) and [2.54, 0] (scale 0.02).
		const values = new Float32Array([1.27, -0.635, 0.005, 2.54, 0]);
		const draws = [0.1, 0.6, 0.4, 0.99, 0.2];
		let next = 0;
		const encoded = encodeWeights(values, 'int8', { segments: [3, 2], random: () => draws[next++] });
		expect(next).toBe(5);
		expect(encoded.byteLength).toBe(16 + 4 + 2 * 8 + 5);
		expect(encoded.byteLength).toBe(int8WeightBytes(5, 2));
		const view = new DataView(encoded.buffer);
		expect(view.getUint32(16, true)).toBe(2);
		expect([view.getUint32(20, true), view.getUint32(24, true)]).toEqual([3, 2]);
		expect(view.getFloat32(28, true)).toBe(Math.fround(Math.fround(1.27) / 127));
		expect(view.getFloat32(32, true)).toBe(Math.fround(Math.fround(2.54) / 127));
		// 127 + 0.1 -> 127; -63.5 + 0.6 -> -63; 0.5 + 0.4 -> 0; 127 + 0.99 -> 127 (clamped, never 128); 0 + 0.2 -> 0.
		expect(Array.from(new Int8Array(encoded.buffer, 36, 5))).toEqual([127, -63, 0, 127, 0]);
		const { dtype, values: back, copied } = decodeWeights(encoded, { share: true });
		expect(dtype).toBe('int8');
		expect(copied).toBe(true);
		const s1 = view.getFloat32(28, true);
		expect(Array.from(back)).toEqual([127 * s1, -63 * s1, 0, 127 * view.getFloat32(32, true), 0].map(Math.fround));
	});

	it('int8 rounding is unbiased: the mean of many encodings approaches x, not the nearest level', () => {
		// 0.3 levels above 0 with scale 1/127: nearest rounding would always give 0.
		const values = new Float32Array([1, 0.3 / 127, -0.7 / 127]);
		let state = 12345;
		// A small LCG: deterministic, and uniform enough for a mean over 20 000 draws.
		const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
		const sums = [0, 0, 0];
		const runs = 20_000;
		for (let r = 0; r < runs; r++) {
			const back = decodeWeights(encodeWeights(values, 'int8', { random })).values;
			for (let i = 0; i < 3; i++) sums[i] += back[i];
		}
		expect(sums[0] / runs).toBeCloseTo(1, 6);
		expect(Math.abs(sums[1] / runs - 0.3 / 127)).toBeLessThan(0.02 / 127);
		expect(Math.abs(sums[2] / runs + 0.7 / 127)).toBeLessThan(0.02 / 127);
	});

	it('encodes an all-zero int8 segment with scale 1 and the default crypto source within one level', () => {
		const values = new Float32Array([0, 0, 0.5, -0.25]);
		const encoded = encodeWeights(values, 'int8', { segments: [2, 2] });
		expect(new DataView(encoded.buffer).getFloat32(28, true)).toBe(1);
		const back = decodeWeights(encoded).values;
		expect(Array.from(back.subarray(0, 2))).toEqual([0, 0]);
		expect(back[2]).toBeCloseTo(0.5, 6);
		expect(Math.abs(back[3] + 0.25)).toBeLessThan(0.5 / 127 + 1e-7);
		expect(() => encodeWeights(values, 'int8', { segments: [2, 1] })).toThrow(/sum to 3/);
	});

	it('round-trips top-k into a dense vector with zeros elsewhere', () => {
		const encoded = encodeTopK(6, Uint32Array.from([1, 4, 5]), new Float32Array([-2.5, 0.125, 3]));
		expect(encoded.byteLength).toBe(16 + 4 + 3 * 8);
		expect(encoded.byteLength).toBe(topKWeightBytes(3));
		expect(readWeightHeader(encoded)).toEqual({ dtype: 'top-k', count: 6, kept: 3 });
		const { dtype, values } = decodeWeights(encoded);
		expect(dtype).toBe('top-k');
		expect(Array.from(values)).toEqual([0, -2.5, 0, 0, 0.125, 3]);
		expect(Array.from(decodeWeights(encodeTopK(3, new Uint32Array(0), new Float32Array(0))).values)).toEqual([0, 0, 0]);
		expect(() => encodeTopK(6, Uint32Array.from([4, 1]), new Float32Array(2))).toThrow(RangeError);
	});

	it('counts top-k as ceil(fraction * count), with float noise read as exact', () => {
		expect(topKCount(0.1, 199_210)).toBe(19_921); // 0.1 * 199210 = 19921.000000000004
		expect(topKCount(0.1, 25)).toBe(3);
		expect(topKCount(0.001, 10)).toBe(1);
		expect(topKCount(1, 7)).toBe(7);
		expect(topKCount(0.5, 0)).toBe(0);
	});

	it('keeps u32 masked words apart from weights', () => {
		const words = Uint32Array.from([0, 1, 0xffffffff]);
		const encoded = encodeMaskedWords(words);
		expect(Array.from(decodeMaskedWords(encoded))).toEqual([0, 1, 0xffffffff]);
		expect(() => decodeWeights(encoded)).toThrow(/masked u32/);
		expect(() => decodeMaskedWords(encodeWeights(new Float32Array(3)))).toThrow(/expected masked u32/);
	});

	it('rejects malformed payloads with DECODE_FAILED', () => {
		const good = encodeWeights(new Float32Array([1, 2, 3]));
		const cases: [string, Uint8Array][] = [
			['short', good.subarray(0, 10)],
			['magic', Uint8Array.from(good, (b, i) => (i === 0 ? 0 : b))],
			['version', Uint8Array.from(good, (b, i) => (i === 4 ? 9 : b))],
			['dtype', Uint8Array.from(good, (b, i) => (i === 5 ? 7 : b))],
			['truncated', good.subarray(0, good.byteLength - 1)],
			['trailing', new Uint8Array([...good, 0])]
		];
		const int8 = encodeWeights(new Float32Array([1, 2, 3]), 'int8', { segments: [1, 2], random: () => 0.5 });
		const topK = encodeTopK(5, Uint32Array.from([1, 3]), new Float32Array([1, 2]));
		const patched = (bytes: Uint8Array, at: number, write: (v: DataView) => void) => {
			const copy = bytes.slice();
			write(new DataView(copy.buffer, at));
			return copy;
		};
		cases.push(
			['int8 lengths sum short', patched(int8, 20, (v) => v.setUint32(4, 1, true))],
			['int8 lengths sum long', patched(int8, 20, (v) => v.setUint32(4, 3, true))],
			['int8 empty segment', patched(int8, 20, (v) => v.setUint32(0, 0, true))],
			['int8 more segments than values', patched(int8, 16, (v) => v.setUint32(0, 4, true))],
			['int8 no segments', patched(int8, 16, (v) => v.setUint32(0, 0, true))],
			['int8 NaN scale', patched(int8, 28, (v) => v.setFloat32(0, NaN, true))],
			['int8 infinite scale', patched(int8, 32, (v) => v.setFloat32(0, Infinity, true))],
			['int8 negative scale', patched(int8, 28, (v) => v.setFloat32(0, -1, true))],
			['int8 truncated', int8.subarray(0, int8.byteLength - 1)],
			['int8 without its segment count', int8.subarray(0, 18)],
			['top-k k above count', patched(topK, 16, (v) => v.setUint32(0, 6, true))],
			['top-k k disagrees with the length', patched(topK, 16, (v) => v.setUint32(0, 1, true))],
			['top-k descending', patched(topK, 20, (v) => v.setUint32(0, 3, true))],
			['top-k repeated index', patched(topK, 24, (v) => v.setUint32(0, 1, true))],
			['top-k index out of range', patched(topK, 24, (v) => v.setUint32(0, 5, true))],
			['top-k NaN value', patched(topK, 28, (v) => v.setFloat32(0, NaN, true))],
			['top-k infinite value', patched(topK, 32, (v) => v.setFloat32(0, -Infinity, true))],
			['top-k trailing', new Uint8Array([...topK, 0])]
		);
		// The unpatched payloads decode: each case above fails for its one change.
		// Segment [2, 3] has scale 3/127: 2 / scale + 0.5 = 85.17 rounds down to level 85.
		const s2 = Math.fround(3 / 127);
		expect(Array.from(decodeWeights(int8).values)).toEqual([1, Math.fround(85 * s2), Math.fround(127 * s2)]);
		expect(Array.from(decodeWeights(topK).values)).toEqual([0, 1, 0, 2, 0]);
		for (const [why, bytes] of cases) {
			let error: unknown;
			try {
				decodeWeights(bytes);
			} catch (e) {
				error = e;
			}
			expect(error, why).toBeInstanceOf(ProtocolError);
			expect((error as ProtocolError).code, why).toBe('DECODE_FAILED');
		}
	});
});
