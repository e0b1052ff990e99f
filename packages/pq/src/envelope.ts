import { ENVELOPE_KEY_BYTES, ENVELOPE_NONCE_BYTES, ENVELOPE_TAG_BYTES } from './sizes';

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
