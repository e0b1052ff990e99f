import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt at N=2^15, r=8, p=1: about 32 MiB and tens of milliseconds per hash, memory-hard against GPUs. */
const COST = 32_768;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MAX_MEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, options: ScryptOptions, keyBytes: number): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		scrypt(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
	});
}

/** `scrypt$32768$8$1$<salt b64>$<hash b64>`: the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
	const salt = randomBytes(SALT_BYTES);
	const key = await derive(password, salt, { N: COST, r: BLOCK_SIZE, p: PARALLELISM, maxmem: MAX_MEM }, KEY_BYTES);
	return ['scrypt', COST, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');
}

interface ParsedHash {
	N: number;
	r: number;
	p: number;
	salt: Buffer;
	key: Buffer;
}

/** Null for anything that is not a hash this module wrote, or whose parameters are out of the range it accepts. */
function parseHash(stored: string): ParsedHash | null {
	const parts = stored.split('$');
	if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
	const [N, r, p] = parts.slice(1, 4).map(Number);
	// Bounds keep a tampered record from making the server allocate or spin without limit.
	if (!Number.isInteger(N) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return null;
	if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null;
	const salt = Buffer.from(parts[4], 'base64');
	const key = Buffer.from(parts[5], 'base64');
	if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
	return { N, r, p, salt, key };
}

/** True only when `password` hashes to `stored`; a malformed hash is a mismatch, never an exception. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
	const parsed = parseHash(stored);
	if (!parsed) return false;
	try {
		const key = await derive(password, parsed.salt, { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: MAX_MEM * 4 }, parsed.key.length);
		return timingSafeEqual(key, parsed.key);
	} catch {
		return false;
	}
}

let dummy: Promise<string> | null = null;

/**
 * Spends the time of a real verification when the account does not exist, so that the answer's
 * timing does not tell which e-mail addresses have accounts.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
	dummy ??= hashPassword('qflare-timing-equaliser');
	await verifyPassword(password, await dummy);
	return false;
}
