import { kemDecapsulate, kemEncapsulate } from './kem';
import { ENVELOPE_KEY_BYTES, ENVELOPE_NONCE_BYTES, ENVELOPE_TAG_BYTES, ML_KEM768_CIPHERTEXT_BYTES } from './sizes';

// AES-256-GCM through WebCrypto (browsers and Node 20 both expose globalThis.crypto.subtle).
// Layout: nonce (12) || ciphertext || tag (16).

function subtle(): SubtleCrypto {
	const s = globalThis.crypto?.subtle;
	if (!s) throw new Error('WebCrypto (crypto.subtle) is unavailable: a secure context is required');
	return s;
}

// Copies into a fresh ArrayBuffer-backed array, which WebCrypto's BufferSource type requires.
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
	return new Uint8Array(bytes);
}

async function importKey(key32: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
	if (!(key32 instanceof Uint8Array) || key32.length !== ENVELOPE_KEY_BYTES) {
		throw new Error(`envelope key must be ${ENVELOPE_KEY_BYTES} bytes`);
	}
	return subtle().importKey('raw', own(key32), { name: 'AES-GCM' }, false, [usage]);
}

export async function sealEnvelope(key32: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
	const key = await importKey(key32, 'encrypt');
	const iv = globalThis.crypto.getRandomValues(new Uint8Array(ENVELOPE_NONCE_BYTES));
	const params: AesGcmParams = aad ? { name: 'AES-GCM', iv, additionalData: own(aad) } : { name: 'AES-GCM', iv };
	const sealed = new Uint8Array(await subtle().encrypt(params, key, own(plaintext)));
	const out = new Uint8Array(ENVELOPE_NONCE_BYTES + sealed.length);
	out.set(iv, 0);
	out.set(sealed, ENVELOPE_NONCE_BYTES);
	return out;
}

/** Throws when the envelope, key or aad do not match what was sealed. */
export async function openEnvelope(key32: Uint8Array, envelope: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
	if (!(envelope instanceof Uint8Array) || envelope.length < ENVELOPE_NONCE_BYTES + ENVELOPE_TAG_BYTES) {
		throw new Error('envelope too short');
	}
	const key = await importKey(key32, 'decrypt');
	const iv = own(envelope.subarray(0, ENVELOPE_NONCE_BYTES));
	const params: AesGcmParams = aad ? { name: 'AES-GCM', iv, additionalData: own(aad) } : { name: 'AES-GCM', iv };
	try {
		return new Uint8Array(await subtle().decrypt(params, key, own(envelope.subarray(ENVELOPE_NONCE_BYTES))));
	} catch {
		throw new Error('envelope authentication failed: wrong key, aad or tampered bytes');
	}
}

/**
 * Seals to an ML-KEM-768 public key: a fresh encapsulation's ciphertext (1088 bytes), then an
 * envelope under its shared secret. Only the holder of the secret key opens it; the relay in
 * between (the server, for SecAgg share envelopes) learns nothing but the length.
 */
export async function sealToPublicKey(publicKey: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
	const { cipherText, sharedSecret } = kemEncapsulate(publicKey);
	const envelope = await sealEnvelope(sharedSecret, plaintext, aad);
	const out = new Uint8Array(cipherText.length + envelope.length);
	out.set(cipherText, 0);
	out.set(envelope, cipherText.length);
	return out;
}

/**
 * Opens what sealToPublicKey made for this secret key; throws when the key, aad or any byte
 * differ (a tampered KEM ciphertext decapsulates to an unrelated secret, so the envelope fails).
 */
export async function openSealed(secretKey: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
	if (!(sealed instanceof Uint8Array) || sealed.length < ML_KEM768_CIPHERTEXT_BYTES + ENVELOPE_NONCE_BYTES + ENVELOPE_TAG_BYTES) {
		throw new Error('sealed envelope too short');
	}
	const sharedSecret = kemDecapsulate(sealed.slice(0, ML_KEM768_CIPHERTEXT_BYTES), secretKey);
	return openEnvelope(sharedSecret, sealed.subarray(ML_KEM768_CIPHERTEXT_BYTES), aad);
}
