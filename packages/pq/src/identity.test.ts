import { createHash } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { describe, expect, it } from 'vitest';
import { deviceIdFromPublicKey, generateDeviceKeypair, signMessage, verifySignature } from './identity';
import {
	ML_DSA65_PUBLIC_KEY_BYTES,
	ML_DSA65_SECRET_KEY_BYTES,
	ML_DSA65_SEED_BYTES,
	ML_DSA65_SIGNATURE_BYTES
} from './sizes';

const seedA = new Uint8Array(32).fill(7);
const seedB = new Uint8Array(32).fill(8);
const alice = generateDeviceKeypair(seedA);
const bob = generateDeviceKeypair(seedB);
const message = new TextEncoder().encode('qflare/update/v1\nround-1\n3\n' + 'ab'.repeat(32));
const signature = signMessage(alice.secretKey, message);

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
	const copy = bytes.slice();
	copy[index] ^= 0x01;
	return copy;
}

describe('ML-DSA-65 identity', () => {
	it('declares the sizes the library uses', () => {
		expect(ml_dsa65.lengths.publicKey).toBe(ML_DSA65_PUBLIC_KEY_BYTES);
		expect(ml_dsa65.lengths.secretKey).toBe(ML_DSA65_SECRET_KEY_BYTES);
		expect(ml_dsa65.lengths.signature).toBe(ML_DSA65_SIGNATURE_BYTES);
		expect(ml_dsa65.lengths.seed).toBe(ML_DSA65_SEED_BYTES);
		expect(alice.publicKey.length).toBe(1952);
		expect(alice.secretKey.length).toBe(4032);
		expect(signature.length).toBe(3309);
	});

	it('derives the same keypair from the same seed and a different one otherwise', () => {
		const again = generateDeviceKeypair(seedA.slice());
		expect(again.publicKey).toEqual(alice.publicKey);
		expect(again.secretKey).toEqual(alice.secretKey);
		expect(bob.publicKey).not.toEqual(alice.publicKey);
		expect(generateDeviceKeypair().publicKey).not.toEqual(generateDeviceKeypair().publicKey);
	});

	it('rejects a seed of the wrong length', () => {
		expect(() => generateDeviceKeypair(new Uint8Array(31))).toThrow('seed must be 32 bytes');
	});

	it('verifies its own signature', () => {
		expect(verifySignature(alice.publicKey, message, signature)).toBe(true);
	});

	it('rejects a flipped bit in the message', () => {
		expect(verifySignature(alice.publicKey, flipBit(message, 5), signature)).toBe(false);
		expect(verifySignature(alice.publicKey, flipBit(message, message.length - 1), signature)).toBe(false);
	});

	it('rejects a flipped bit in the signature', () => {
		expect(verifySignature(alice.publicKey, message, flipBit(signature, 0))).toBe(false);
		expect(verifySignature(alice.publicKey, message, flipBit(signature, 1000))).toBe(false);
	});

	it('rejects the wrong public key', () => {
		expect(verifySignature(bob.publicKey, message, signature)).toBe(false);
	});

	it('returns false rather than throwing on malformed input', () => {
		expect(verifySignature(alice.publicKey, message, signature.subarray(0, 3308))).toBe(false);
		expect(verifySignature(alice.publicKey, message, new Uint8Array(0))).toBe(false);
		expect(verifySignature(alice.publicKey.subarray(0, 100), message, signature)).toBe(false);
		expect(verifySignature(new Uint8Array(1952), message, signature)).toBe(false);
		expect(verifySignature(alice.publicKey, message, new Uint8Array(3309).fill(0xff))).toBe(false);
		const notBytes = 'x' as unknown as Uint8Array;
		expect(verifySignature(notBytes, message, signature)).toBe(false);
	});

	it('derives the device id as the first 32 hex chars of SHA-256(publicKey)', () => {
		const id = deviceIdFromPublicKey(alice.publicKey);
		expect(id).toMatch(/^[0-9a-f]{32}$/);
		expect(id).toBe(createHash('sha256').update(alice.publicKey).digest('hex').slice(0, 32));
		expect(deviceIdFromPublicKey(bob.publicKey)).not.toBe(id);
		expect(() => deviceIdFromPublicKey(new Uint8Array(10))).toThrow('public key must be 1952 bytes');
	});
});
