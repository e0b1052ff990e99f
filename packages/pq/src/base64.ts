// Standard base64 with padding via atob/btoa, which both browsers and Node 20 have.

const CHUNK = 0x8000;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
	let binary = '';
	// Chunked so String.fromCharCode never gets more arguments than the engine allows.
	for (let i = 0; i < bytes.length; i += CHUNK) {
		binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
	}
	return btoa(binary);
}

/** Throws on anything but canonical-alphabet, padded base64 (atob alone is lenient). */
export function fromBase64(text: string): Uint8Array {
	if (typeof text !== 'string' || !STRICT_BASE64.test(text)) {
		throw new Error('invalid base64: expected standard alphabet (A-Z a-z 0-9 + /) with = padding');
	}
	const binary = atob(text);
	const out = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
	return out;
}
