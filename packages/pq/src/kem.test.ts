import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import { kemDecapsulate, kemEncapsulate, kemKeygen } from './kem';
import {
	ML_KEM768_CIPHERTEXT_BYTES,
	ML_KEM768_PUBLIC_KEY_BYTES,
	ML_KEM768_SECRET_KEY_BYTES,
	ML_KEM768_SEED_BYTES,
	ML_KEM768_SHARED_SECRET_BYTES
} from './sizes';

describe('ML-KEM-768', () => {
	it('declares the sizes the library uses', () => {
		expect(ml_kem768.lengths.publicKey).toBe(ML_KEM768_PUBLIC_KEY_BYTES);
		expect(ml_kem768.lengths.secretKey).toBe(ML_KEM768_SECRET_KEY_BYTES);
		expect(ml_kem768.lengths.cipherText).toBe(ML_KEM768_CIPHERTEXT_BYTES);
		expect(ml_kem768.lengths.seed).toBe(ML_KEM768_SEED_BYTES);
	});

	it('agrees on a 32-byte shared secret', () => {
		const { publicKey, secretKey } = kemKeygen();
		const { cipherText, sharedSecret } = kemEncapsulate(publicKey);
		expect(sharedSecret.length).toBe(ML_KEM768_SHARED_SECRET_BYTES);
		expect(cipherText.length).toBe(ML_KEM768_CIPHERTEXT_BYTES);
		expect(kemDecapsulate(cipherText, secretKey)).toEqual(sharedSecret);
	});

	it('gives a different secret for a tampered ciphertext or another key', () => {
		const alice = kemKeygen(new Uint8Array(64).fill(1));
		const eve = kemKeygen(new Uint8Array(64).fill(2));
		const { cipherText, sharedSecret } = kemEncapsulate(alice.publicKey);
		const tampered = cipherText.slice();
		tampered[10] ^= 1;
		expect(kemDecapsulate(tampered, alice.secretKey)).not.toEqual(sharedSecret);
		expect(kemDecapsulate(cipherText, eve.secretKey)).not.toEqual(sharedSecret);
	});

	it('is deterministic from a seed and checks lengths', () => {
		const seed = new Uint8Array(64).fill(3);
		expect(kemKeygen(seed).publicKey).toEqual(kemKeygen(seed.slice()).publicKey);
		expect(() => kemKeygen(new Uint8Array(32))).toThrow('seed must be 64 bytes');
		expect(() => kemEncapsulate(new Uint8Array(10))).toThrow('public key must be 1184 bytes');
		expect(() => kemDecapsulate(new Uint8Array(10), new Uint8Array(2400))).toThrow('ciphertext must be 1088 bytes');
	});
});
