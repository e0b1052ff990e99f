// Domain-separated byte strings that devices sign. Fields are newline-joined, so a field
// holding a newline could forge another field boundary: those are rejected.

const encoder = new TextEncoder();

function field(name: string, value: string): string {
	if (typeof value !== 'string' || value.length === 0) throw new Error(`${name} must be a non-empty string`);
	if (value.includes('\n')) throw new Error(`${name} must not contain a newline`);
	return value;
}

export interface LoginMessageFields {
	projectId: string;
	deviceId: string;
	nonce: string;
}

export function loginMessage({ projectId, deviceId, nonce }: LoginMessageFields): Uint8Array {
	return encoder.encode(
		`qflare/login/v1\n${field('projectId', projectId)}\n${field('deviceId', deviceId)}\n${field('nonce', nonce)}`
	);
}

export interface UpdateMessageFields {
	roundId: string;
	modelVersion: number;
	/** Lowercase hex SHA-256 of the update payload. */
	payloadSha256: string;
}

export function updateMessage({ roundId, modelVersion, payloadSha256 }: UpdateMessageFields): Uint8Array {
	if (!Number.isSafeInteger(modelVersion) || modelVersion < 0) {
		throw new Error('modelVersion must be a non-negative integer');
	}
	if (!/^[0-9a-f]{64}$/.test(payloadSha256)) {
		throw new Error('payloadSha256 must be 64 lowercase hex characters');
	}
	return encoder.encode(`qflare/update/v1\n${field('roundId', roundId)}\n${modelVersion}\n${payloadSha256}`);
}

export interface RotateKeyMessageFields {
	projectId: string;
	deviceId: string;
	/** Base64 of the new ML-DSA public key. */
	newPublicKey: string;
}

/** Signed by both the old and the new key of a device that rotates its identity. */
export function rotateKeyMessage({ projectId, deviceId, newPublicKey }: RotateKeyMessageFields): Uint8Array {
	return encoder.encode(
		`qflare/rotate-key/v1\n${field('projectId', projectId)}\n${field('deviceId', deviceId)}\n${field('newPublicKey', newPublicKey)}`
	);
}

export interface SecaggKeysMessageFields {
	roundId: string;
	deviceId: string;
	/** Base64 of the ML-KEM public keys the device made for this round. */
	maskPublicKey: string;
	channelPublicKey: string;
}

/** Signed by a device over the keys it advertises for a secure round, so neighbours know them to be its own. */
export function secaggKeysMessage({ roundId, deviceId, maskPublicKey, channelPublicKey }: SecaggKeysMessageFields): Uint8Array {
	return encoder.encode(
		`qflare/secagg-keys/v1\n${field('roundId', roundId)}\n${field('deviceId', deviceId)}\n${field('maskPublicKey', maskPublicKey)}\n${field('channelPublicKey', channelPublicKey)}`
	);
}
