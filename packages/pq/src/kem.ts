import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import {
	ML_KEM768_CIPHERTEXT_BYTES,
	ML_KEM768_PUBLIC_KEY_BYTES,
	ML_KEM768_SECRET_KEY_BYTES,
	ML_KEM768_SEED_BYTES
} from './sizes';

export interface KemKeypair {
	publicKey: Uint8Array;
	secretKey: Uint8Array;
}

export interface KemEncapsulation {
	cipherText: Uint8Array;
	sharedSecret: Uint8Array;
}

function checkLength(name: string, bytes: Uint8Array, length: number): void {
	if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
		throw new Error(`ML-KEM-768 ${name} must be ${length} bytes`);
	}
}

/** ML-KEM-768 keypair; a 64-byte seed makes it deterministic. */
export function kemKeygen(seed?: Uint8Array): KemKeypair {
	if (seed !== undefined) checkLength('seed', seed, ML_KEM768_SEED_BYTES);
	const { publicKey, secretKey } = ml_kem768.keygen(seed);
	return { publicKey, secretKey };
}

export function kemEncapsulate(publicKey: Uint8Array): KemEncapsulation {
	checkLength('public key', publicKey, ML_KEM768_PUBLIC_KEY_BYTES);
	const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
	return { cipherText, sharedSecret };
}

/** A tampered ciphertext yields a different secret (implicit rejection), not an error. */
export function kemDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
	checkLength('ciphertext', cipherText, ML_KEM768_CIPHERTEXT_BYTES);
	checkLength('secret key', secretKey, ML_KEM768_SECRET_KEY_BYTES);
	return ml_kem768.decapsulate(cipherText, secretKey);
}
