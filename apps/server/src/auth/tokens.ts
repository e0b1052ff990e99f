import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: 256 bits, more than anyone can guess. */
export function randomSecret(bytes = 32): string {
	return randomBytes(bytes).toString('base64url');
}

/** Secrets are stored as their SHA-256: high-entropy tokens need no slow hash, only one-wayness. */
export function sha256Hex(value: string): string {
	return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests (different lengths are simply unequal). */
export function sameDigest(a: string, b: string): boolean {
	const x = Buffer.from(a, 'utf8');
	const y = Buffer.from(b, 'utf8');
	return x.length === y.length && timingSafeEqual(x, y);
}

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const API_KEY = /^qfk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const API_KEY_PREFIX = 'qfk_';
export const JOIN_TOKEN_PREFIX = 'qjt_';
export const INVITATION_PREFIX = 'qin_';

export interface NewApiKey {
	id: string;
	/** `qfk_<id>_<secret>`, shown to its creator once. */
	key: string;
	prefix: string;
	secretHash: string;
}

export function newApiKey(): NewApiKey {
	const id = randomBytes(6).toString('hex');
	const secret = randomSecret();
	return { id, key: `${API_KEY_PREFIX}${id}_${secret}`, prefix: `${API_KEY_PREFIX}${id}`, secretHash: sha256Hex(secret) };
}

/** The id and secret of a well-formed API key, or null. */
export function parseApiKey(key: string): { id: string; secret: string } | null {
	const match = API_KEY.exec(key);
	return match ? { id: match[1], secret: match[2] } : null;
}

export interface NewToken {
	token: string;
	tokenHash: string;
}

export function newJoinToken(): NewToken & { prefix: string } {
	const secret = randomSecret();
	const token = `${JOIN_TOKEN_PREFIX}${secret}`;
	return { token, tokenHash: sha256Hex(token), prefix: `${JOIN_TOKEN_PREFIX}${secret.slice(0, 6)}` };
}

export function newInvitationToken(): NewToken {
	const token = `${INVITATION_PREFIX}${randomSecret()}`;
	return { token, tokenHash: sha256Hex(token) };
}

/** Session cookies and device shard access tokens: bare random secrets. */
export function newBareToken(): NewToken {
	const token = randomSecret();
	return { token, tokenHash: sha256Hex(token) };
}

/** Whether `token` has the shape of one this module makes with `prefix` (checked before any store lookup). */
export function hasTokenShape(token: string, prefix: string): boolean {
	return token.startsWith(prefix) && SECRET.test(token.slice(prefix.length));
}

export function isBareToken(token: string): boolean {
	return SECRET.test(token);
}
