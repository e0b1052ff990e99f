import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors';
import { decodeWeights, encodeWeights, float16ToFloat32, float32ToFloat16 } from './weight-codec';

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

	it('quantizes int8 with one scale and error at most scale/2', () => {
		const values = new Float32Array([1.27, -1.27, 0.5, 0.004, 0]);
		const encoded = encodeWeights(values, 'int8');
		expect(encoded.byteLength).toBe(16 + 5);
		const { values: back } = decodeWeights(encoded);
		const scale = 1.27 / 127;
		expect(back[0]).toBeCloseTo(1.27, 6);
		expect(back[1]).toBeCloseTo(-1.27, 6);
		expect(back[2]).toBeCloseTo(50 * scale, 6);
		expect(back[4]).toBe(0);
		back.forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(scale / 2 + 1e-7));
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
