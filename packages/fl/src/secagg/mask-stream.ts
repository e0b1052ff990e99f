import { chacha20 } from '@noble/ciphers/chacha.js';

// Mask expansion: a 32-byte seed becomes a stream of uniform words in Z_{2^32} via the ChaCha20
// keystream (RFC 8439, key = seed, 96-bit nonce all zero, block counter from 0), read as
// little-endian uint32. Every seed is single-use (fresh per round and per purpose), so a fixed
// nonce is safe. The keystream is generated in chunks so that adding a mask to a large model
// costs O(chunk) extra memory rather than O(model).

export const MASK_SEED_BYTES = 32;

const NONCE = new Uint8Array(12);
const CHUNK_WORDS = 16 * 1024; // 64 KiB of keystream, a whole number of 64-byte blocks
const WORDS_PER_BLOCK = 16;
// RFC 8439's counter is 32 bits; noble refuses to wrap it.
const MAX_WORDS = (2 ** 32 - 1) * WORDS_PER_BLOCK;

function checkSeed(seed: Uint8Array): void {
	if (!(seed instanceof Uint8Array) || seed.length !== MASK_SEED_BYTES) {
		throw new Error(`mask seed must be ${MASK_SEED_BYTES} bytes`);
	}
}

function checkLength(length: number): void {
	if (!Number.isSafeInteger(length) || length < 0 || length > MAX_WORDS) {
		throw new Error('mask length must be a non-negative integer within one ChaCha20 stream');
	}
}

/**
 * Walks the keystream in chunks, calling visit(offset, words) with words[0..n) = mask[offset..).
 * The words array is reused between calls.
 */
function forEachChunk(seed: Uint8Array, length: number, visit: (offset: number, words: Uint32Array, n: number) => void): void {
	checkSeed(seed);
	checkLength(length);
	const zeros = new Uint8Array(Math.min(length, CHUNK_WORDS) * 4);
	const bytes = new Uint8Array(zeros.length);
	const words = new Uint32Array(zeros.length / 4);
	for (let offset = 0; offset < length; offset += CHUNK_WORDS) {
		const n = Math.min(CHUNK_WORDS, length - offset);
		// XOR with zeros yields the raw keystream; the counter is in 64-byte blocks.
		chacha20(seed, NONCE, zeros.subarray(0, n * 4), bytes.subarray(0, n * 4), offset / WORDS_PER_BLOCK);
		for (let i = 0, b = 0; i < n; i++, b += 4) {
			words[i] = (bytes[b] | (bytes[b + 1] << 8) | (bytes[b + 2] << 16) | (bytes[b + 3] << 24)) >>> 0;
		}
		visit(offset, words, n);
	}
}

/** The first `length` words of the mask that `seed` expands to. */
export function maskStream(seed: Uint8Array, length: number): Uint32Array {
	const out = new Uint32Array(length);
	forEachChunk(seed, length, (offset, words, n) => out.set(words.subarray(0, n), offset));
	return out;
}

/** target += sign·mask(seed) mod 2^32, in place, without materialising the whole mask. */
export function applyMaskInPlace(target: Uint32Array, seed: Uint8Array, sign: 1 | -1): Uint32Array {
	forEachChunk(seed, target.length, (offset, words, n) => {
		if (sign === 1) {
			for (let i = 0; i < n; i++) target[offset + i] += words[i];
		} else {
			for (let i = 0; i < n; i++) target[offset + i] -= words[i];
		}
	});
	return target;
}
