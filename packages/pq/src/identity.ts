import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { sha256Hex } from './hash';
import {
	DEVICE_ID_HEX_CHARS,
	ML_DSA65_PUBLIC_KEY_BYTES,
	ML_DSA65_SECRET_KEY_BYTES,
	ML_DSA65_SEED_BYTES,
	ML_DSA65_SIGNATURE_BYTES
} from './sizes';

export interface DeviceKeypair {
	publicKey: Uint8Array;
	secretKey: Uint8Array;
}

/** ML-DSA-65 keypair; a 32-byte seed makes it deterministic (tests, key recovery). */
export function generateDeviceKeypair(seed?: Uint8Array): DeviceKeypair {
	if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== ML_DSA65_SEED_BYTES)) {
		throw new Error(`ML-DSA-65 seed must be ${ML_DSA65_SEED_BYTES} bytes`);
	}
	const { publicKey, secretKey } = ml_dsa65.keygen(seed);
	return { publicKey, secretKey };
}

/** Stable short id of a device: first 128 bits of SHA-256(publicKey) as hex. */
export function deviceIdFromPublicKey(publicKey: Uint8Array): string {
	if (!(publicKey instanceof Uint8Array) || publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES) {
		throw new Error(`ML-DSA-65 public key must be ${ML_DSA65_PUBLIC_KEY_BYTES} bytes`);
	}
	return sha256Hex(publicKey).slice(0, DEVICE_ID_HEX_CHARS);
}

export function signMessage(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
	if (!(secretKey instanceof Uint8Array) || secretKey.length !== ML_DSA65_SECRET_KEY_BYTES) {
		throw new Error(`ML-DSA-65 secret key must be ${ML_DSA65_SECRET_KEY_BYTES} bytes`);
	}
	return ml_dsa65.sign(message, secretKey);
}

/**
 * False for any bad input instead of throwing: callers sit at trust boundaries and
 * treat every malformed key or signature as a failed check.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
	if (
		!(publicKey instanceof Uint8Array) ||
		!(message instanceof Uint8Array) ||
		!(signature instanceof Uint8Array) ||
		publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES ||
		signature.length !== ML_DSA65_SIGNATURE_BYTES
	) {
		return false;
	}
	try {
		return ml_dsa65.verify(signature, message, publicKey);
	} catch {
		return false;
	}
}
