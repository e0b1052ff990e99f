import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { KEM_CIPHERTEXT_BYTES, KEM_PUBLIC_KEY_BYTES, decapsulateFrom, deriveKemKeys, encapsulateFor, recoverPairSeed } from './pair-secrets';

const seedOf = (i: number): Uint8Array => new Uint8Array(32).fill(i + 1);

describe('deriveKemKeys', () => {
	it('is deterministic, ML-KEM-768 sized, and separated by purpose', () => {
		const a = deriveKemKeys(seedOf(0));
		expect(a.publicKey.length).toBe(KEM_PUBLIC_KEY_BYTES);
		expect(a.secretKey.length).toBe(2400);
		expect(deriveKemKeys(seedOf(0)).publicKey).toEqual(a.publicKey);
		expect(deriveKemKeys(seedOf(1)).publicKey).not.toEqual(a.publicKey);
		expect(deriveKemKeys(seedOf(0), 'channel').publicKey).not.toEqual(a.publicKey);
		expect(() => deriveKemKeys(new Uint8Array(64))).toThrow(/32 bytes/);
	});
});

describe('pair seeds', () => {
	const pk5 = deriveKemKeys(seedOf(5)).publicKey;

	it('agree on both sides of the pair and are pinned for fixed seeds', () => {
		const { ciphertext, seed } = encapsulateFor(seedOf(2), 2, 5, pk5);
		expect(ciphertext.length).toBe(KEM_CIPHERTEXT_BYTES);
		expect(seed.length).toBe(32);
		expect(decapsulateFrom(seedOf(5), 5, 2, ciphertext)).toEqual(seed);
		// Deterministic: the same key seeds give the same ciphertext and seed.
		expect(encapsulateFor(seedOf(2), 2, 5, pk5)).toEqual({ ciphertext, seed });
		expect(bytesToHex(seed)).toBe('19646e07c55b60917b2ffb5fbf61a052c393dc8ec9985d2b5cfbae99fec5c7f4');
	});

	it('differ per pair, per purpose and per context', () => {
		const base = encapsulateFor(seedOf(2), 2, 5, pk5).seed;
		const pk6 = deriveKemKeys(seedOf(6)).publicKey;
		expect(encapsulateFor(seedOf(2), 2, 6, pk6).seed).not.toEqual(base);
		const round7 = new TextEncoder().encode('round 7');
		const ctx = encapsulateFor(seedOf(2), 2, 5, pk5, { context: round7 });
		expect(ctx.seed).not.toEqual(base);
		expect(decapsulateFrom(seedOf(5), 5, 2, ctx.ciphertext, { context: round7 })).toEqual(ctx.seed);
		const pk5Channel = deriveKemKeys(seedOf(5), 'channel').publicKey;
		const channel = encapsulateFor(seedOf(2), 2, 5, pk5Channel, { purpose: 'channel' });
		expect(channel.seed).not.toEqual(base);
		expect(decapsulateFrom(seedOf(5), 5, 2, channel.ciphertext, { purpose: 'channel' })).toEqual(channel.seed);
	});

	it('give an unrelated seed for a tampered ciphertext (implicit rejection)', () => {
		const { ciphertext, seed } = encapsulateFor(seedOf(2), 2, 5, pk5);
		const tampered = new Uint8Array(ciphertext);
		tampered[0] ^= 1;
		const other = decapsulateFrom(seedOf(5), 5, 2, tampered);
		expect(other.length).toBe(32);
		expect(other).not.toEqual(seed);
	});

	it('enforce who encapsulates and the sizes', () => {
		expect(() => encapsulateFor(seedOf(5), 5, 2, deriveKemKeys(seedOf(2)).publicKey)).toThrow(/lower index/);
		expect(() => encapsulateFor(seedOf(2), 2, 2, pk5)).toThrow(/lower index/);
		expect(() => decapsulateFrom(seedOf(2), 2, 5, new Uint8Array(KEM_CIPHERTEXT_BYTES))).toThrow(/higher index/);
		expect(() => encapsulateFor(seedOf(2), 2, 5, pk5.subarray(1))).toThrow(/1184 bytes/);
		expect(() => decapsulateFrom(seedOf(5), 5, 2, new Uint8Array(10))).toThrow(/1088 bytes/);
	});
});

describe('recoverPairSeed', () => {
	it('recomputes a dropped participant’s seeds in both directions from its key seed', () => {
		// Participant 4 drops; neighbours 1 (encapsulated to 4) and 7 (4 encapsulated to it).
		const pk4 = deriveKemKeys(seedOf(4)).publicKey;
		const pk7 = deriveKemKeys(seedOf(7)).publicKey;
		const from1 = encapsulateFor(seedOf(1), 1, 4, pk4);
		const to7 = encapsulateFor(seedOf(4), 4, 7, pk7);
		const heldBy7 = decapsulateFrom(seedOf(7), 7, 4, to7.ciphertext);
		const pk1 = deriveKemKeys(seedOf(1)).publicKey;
		expect(recoverPairSeed(seedOf(4), 4, 1, { survivorPublicKey: pk1, ciphertext: from1.ciphertext })).toEqual(from1.seed);
		expect(recoverPairSeed(seedOf(4), 4, 7, { survivorPublicKey: pk7, ciphertext: to7.ciphertext })).toEqual(heldBy7);
	});

	it('refuses when the relayed ciphertext does not match the reconstructed key seed', () => {
		const pk7 = deriveKemKeys(seedOf(7)).publicKey;
		const to7 = encapsulateFor(seedOf(4), 4, 7, pk7);
		expect(() => recoverPairSeed(seedOf(3), 4, 7, { survivorPublicKey: pk7, ciphertext: to7.ciphertext })).toThrow(/differs/);
	});
});
