import { chacha20 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { applyMaskInPlace, maskStream } from './mask-stream';

const counting = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('maskStream', () => {
	it('is the RFC 8439 ChaCha20 keystream read as little-endian words', () => {
		// RFC 8439 appendix A.1, test vector #1: zero key, zero nonce, counter 0 → 76 b8 e0 ad a0 f1 3d 90 ...
		expect(Array.from(maskStream(new Uint8Array(32), 4))).toEqual([0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653]);
		// Pins the expansion for a non-trivial seed.
		expect(Array.from(maskStream(counting, 4))).toEqual([0x7d2bfd39, 0x6a19c5d9, 0x7703bd8d, 0x494adcb8]);
	});

	it('is prefix-stable and seamless across generation chunks', () => {
		const long = maskStream(counting, 40_000);
		expect(long.subarray(0, 4)).toEqual(maskStream(counting, 4));
		const bytes = chacha20(counting, new Uint8Array(12), new Uint8Array(40_000 * 4));
		const view = new DataView(bytes.buffer, bytes.byteOffset);
		for (const i of [0, 16_383, 16_384, 16_385, 32_768, 39_999]) expect(long[i]).toBe(view.getUint32(4 * i, true));
	});

	it('rejects seeds of the wrong size', () => {
		expect(() => maskStream(new Uint8Array(16), 4)).toThrow(/32 bytes/);
		expect(maskStream(counting, 0).length).toBe(0);
	});
});

describe('applyMaskInPlace', () => {
	it('adds and subtracts the mask modulo 2^32', () => {
		const x = Uint32Array.from([0, 1, 0xffffffff, 12345]);
		const masked = applyMaskInPlace(new Uint32Array(x), counting, 1);
		expect(masked[0]).toBe(0x7d2bfd39);
		expect(masked[2]).toBe((0x7703bd8d + 0xffffffff) % 2 ** 32);
		expect(applyMaskInPlace(masked, counting, -1)).toEqual(x);
	});
});
