import { describe, expect, it } from 'vitest';
import { maskStream } from './mask-stream';
import {
	SHAMIR_PRIME,
	SHAMIR_SHARE_BYTES,
	SHAMIR_VALUE_BYTES,
	combineShares,
	decodeShare,
	encodeShare,
	splitSecret,
	type RandomBytes,
	type Share
} from './shamir';

/** Coefficients given as small integers, big-endian in 66 bytes. */
function fixedCoefficients(...values: number[]): RandomBytes {
	let next = 0;
	return (length) => {
		const out = new Uint8Array(length);
		out[length - 1] = values[next++];
		return out;
	};
}

/** A deterministic byte stream standing in for a CSPRNG. */
function streamBytes(tag: number): RandomBytes {
	const bytes = new Uint8Array(maskStream(new Uint8Array(32).fill(tag), 4096).buffer);
	let at = 0;
	return (length) => bytes.slice(at, (at += length));
}

function secretWithLastByte(b: number): Uint8Array {
	const s = new Uint8Array(32);
	s[31] = b;
	return s;
}

function subsets<T>(items: readonly T[], size: number): T[][] {
	if (size === 0) return [[]];
	if (items.length < size) return [];
	const [head, ...rest] = items;
	return [...subsets(rest, size - 1).map((s) => [head, ...s]), ...subsets(rest, size)];
}

describe('splitSecret', () => {
	it('evaluates f(x) = s + a1·x + a2·x² at x = 1..n', () => {
		// s = 7, a1 = 5, a2 = 3.
		const shares = splitSecret(secretWithLastByte(7), 3, 4, fixedCoefficients(5, 3));
		expect(shares).toEqual([
			{ x: 1, y: 15n },
			{ x: 2, y: 29n },
			{ x: 3, y: 49n },
			{ x: 4, y: 75n }
		]);
	});

	it('redraws a coefficient that would equal p', () => {
		let calls = 0;
		const random: RandomBytes = (length) => (calls++ === 0 ? new Uint8Array(length).fill(0xff) : fixedCoefficients(5)(length));
		expect(splitSecret(secretWithLastByte(7), 2, 2, random)).toEqual([
			{ x: 1, y: 12n },
			{ x: 2, y: 17n }
		]);
		expect(calls).toBe(2);
	});

	it('rejects bad thresholds, counts and secrets', () => {
		const s = secretWithLastByte(1);
		expect(() => splitSecret(s, 1, 3, streamBytes(1))).toThrow(/threshold/);
		expect(() => splitSecret(s, 4, 3, streamBytes(1))).toThrow(/threshold/);
		expect(() => splitSecret(s, 2, 70_000, streamBytes(1))).toThrow(/share count/);
		expect(() => splitSecret(new Uint8Array(31), 2, 3, streamBytes(1))).toThrow(/32 bytes/);
		expect(() => splitSecret(s, 2, 3, () => new Uint8Array(8))).toThrow(/66 bytes/);
	});
});

describe('combineShares', () => {
	it('recovers the exact small example from any 3 of 4, and t − 1 shares give another value', () => {
		const shares = splitSecret(secretWithLastByte(7), 3, 4, fixedCoefficients(5, 3));
		for (const subset of subsets(shares, 3)) expect(combineShares(subset)).toEqual(secretWithLastByte(7));
		expect(combineShares(shares)).toEqual(secretWithLastByte(7));
		// The line through (1, 15) and (2, 29) meets x = 0 at 1, not 7.
		expect(combineShares(shares.slice(0, 2))).toEqual(secretWithLastByte(1));
	});

	it('recovers a random 32-byte seed from every 3-subset of 5 shares', () => {
		const secret = streamBytes(9)(32);
		const shares = splitSecret(secret, 3, 5, streamBytes(2));
		const all = subsets(shares, 3);
		expect(all).toHaveLength(10);
		for (const subset of all) expect(combineShares(subset)).toEqual(secret);
		// Fewer than t shares of a full-size polynomial land outside the 32-byte range.
		for (const pair of subsets(shares, 2)) expect(() => combineShares(pair)).toThrow(/too few or corrupted/);
	});

	it('detects a corrupted share', () => {
		const secret = streamBytes(9)(32);
		const shares = splitSecret(secret, 3, 5, streamBytes(3));
		const off = (delta: bigint): Share[] => [shares[0], shares[1], { x: shares[2].x, y: (shares[2].y + delta) % SHAMIR_PRIME }];
		expect(() => combineShares(off(1n << 400n))).toThrow(/too few or corrupted/);
		// A small change shifts the secret by a small amount and stays in range: not authenticated.
		expect(combineShares(off(1n))).not.toEqual(secret);
	});

	it('rejects duplicate and invalid x and out-of-field y', () => {
		expect(() => combineShares([{ x: 1, y: 2n }, { x: 1, y: 2n }])).toThrow(/duplicate/);
		expect(() => combineShares([{ x: 0, y: 2n }, { x: 1, y: 2n }])).toThrow(/share x/);
		expect(() => combineShares([{ x: 1.5, y: 2n }, { x: 2, y: 2n }])).toThrow(/share x/);
		expect(() => combineShares([{ x: 1, y: SHAMIR_PRIME }, { x: 2, y: 2n }])).toThrow(/field element/);
		expect(() => combineShares([{ x: 1, y: 2n }])).toThrow(/two shares/);
	});
});

describe('share encoding', () => {
	it('is x as uint16 big-endian then y in 66 bytes, and round-trips', () => {
		const bytes = encodeShare({ x: 258, y: 0x0102n });
		expect(bytes.length).toBe(SHAMIR_SHARE_BYTES);
		expect(SHAMIR_SHARE_BYTES).toBe(68);
		expect(Array.from(bytes.subarray(0, 2))).toEqual([1, 2]);
		expect(Array.from(bytes.subarray(SHAMIR_SHARE_BYTES - 2))).toEqual([1, 2]);
		expect(decodeShare(bytes)).toEqual({ x: 258, y: 0x0102n });
		const shares = splitSecret(streamBytes(4)(32), 2, 3, streamBytes(5));
		for (const s of shares) expect(decodeShare(encodeShare(s))).toEqual(s);
	});

	it('rejects wrong lengths, x = 0 and y ≥ p', () => {
		expect(() => decodeShare(new Uint8Array(67))).toThrow(/68 bytes/);
		expect(() => decodeShare(new Uint8Array(68))).toThrow(/share x/);
		const high = new Uint8Array(SHAMIR_SHARE_BYTES).fill(0xff);
		expect(() => decodeShare(high)).toThrow(/field element/);
		expect(SHAMIR_VALUE_BYTES).toBe(66);
	});
});
