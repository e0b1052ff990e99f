// Shamir t-of-n secret sharing of 32-byte seeds over the prime field of the Mersenne prime
// p = 2^521 − 1. One field element holds a whole seed (2^256 < p), so a seed is one polynomial
// rather than two halves, and p being a well-known prime needs no primality argument. Shares are
// f(x) for x = 1..n where f has the secret as constant term and t − 1 uniform coefficients; any t
// shares determine f(0), t − 1 shares say nothing about it. Randomness is injected so tests are
// exact; production passes a CSPRNG (crypto.getRandomValues).

export const SHAMIR_PRIME = (1n << 521n) - 1n;
export const SHAMIR_SECRET_BYTES = 32;
/** Bytes of a field element, big-endian (521 bits round up to 66 bytes). */
export const SHAMIR_VALUE_BYTES = 66;
/** Encoded share: x as uint16 big-endian, then y. */
export const SHAMIR_SHARE_BYTES = 2 + SHAMIR_VALUE_BYTES;
export const SHAMIR_MAX_SHARES = 0xffff;

export interface Share {
	/** Evaluation point, 1..65535. */
	x: number;
	/** f(x), in [0, p). */
	y: bigint;
}

export type RandomBytes = (length: number) => Uint8Array;

const P = SHAMIR_PRIME;

function mod(a: bigint): bigint {
	const r = a % P;
	return r < 0n ? r + P : r;
}

/** a^-1 mod p by the extended Euclidean algorithm; a ≠ 0 mod p. */
function invert(a: bigint): bigint {
	let [oldR, r] = [mod(a), P];
	let [oldS, s] = [1n, 0n];
	while (r !== 0n) {
		const q = oldR / r;
		[oldR, r] = [r, oldR - q * r];
		[oldS, s] = [s, oldS - q * s];
	}
	if (oldR !== 1n) throw new Error('not invertible modulo the Shamir prime');
	return mod(oldS);
}

function bytesToBigint(bytes: Uint8Array): bigint {
	let v = 0n;
	for (const b of bytes) v = (v << 8n) | BigInt(b);
	return v;
}

function bigintToBytes(v: bigint, length: number): Uint8Array {
	const out = new Uint8Array(length);
	for (let i = length - 1; i >= 0; i--) {
		out[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	if (v !== 0n) throw new Error('value does not fit');
	return out;
}

/** A uniform element of [0, p): 521 random bits, redrawn in the (2^-521) case of hitting p. */
function randomFieldElement(randomBytes: RandomBytes): bigint {
	for (;;) {
		const bytes = randomBytes(SHAMIR_VALUE_BYTES);
		if (!(bytes instanceof Uint8Array) || bytes.length !== SHAMIR_VALUE_BYTES) {
			throw new Error(`randomBytes must return ${SHAMIR_VALUE_BYTES} bytes when asked for them`);
		}
		const v = bytesToBigint(bytes) & P; // P is 521 one-bits, so & keeps the low 521 bits
		if (v < P) return v;
	}
}

function checkX(x: number): void {
	if (!Number.isInteger(x) || x < 1 || x > SHAMIR_MAX_SHARES) throw new Error(`share x must be an integer in [1, ${SHAMIR_MAX_SHARES}]`);
}

/** Shares f(1..n) of a 32-byte secret; any t of them reconstruct it. */
export function splitSecret(secret: Uint8Array, t: number, n: number, randomBytes: RandomBytes): Share[] {
	if (!(secret instanceof Uint8Array) || secret.length !== SHAMIR_SECRET_BYTES) {
		throw new Error(`secret must be ${SHAMIR_SECRET_BYTES} bytes`);
	}
	if (!Number.isInteger(n) || n < 2 || n > SHAMIR_MAX_SHARES) throw new Error(`share count must be an integer in [2, ${SHAMIR_MAX_SHARES}]`);
	// t = 1 would hand the secret to every holder.
	if (!Number.isInteger(t) || t < 2 || t > n) throw new Error('threshold must be an integer in [2, n]');
	const coefficients = [bytesToBigint(secret)];
	for (let i = 1; i < t; i++) coefficients.push(randomFieldElement(randomBytes));
	const shares: Share[] = [];
	for (let x = 1; x <= n; x++) {
		// Horner from the highest coefficient.
		let y = 0n;
		const bx = BigInt(x);
		for (let i = coefficients.length - 1; i >= 0; i--) y = mod(y * bx + coefficients[i]);
		shares.push({ x, y });
	}
	return shares;
}

/**
 * Lagrange interpolation at 0. With fewer than t shares (or a corrupted one) the result is a
 * uniform field element, which is ≥ 2^256 (and so rejected here) except with probability 2^-265;
 * callers must still treat a returned seed as unauthenticated.
 */
export function combineShares(shares: readonly Share[]): Uint8Array {
	if (shares.length < 2) throw new Error('at least two shares are needed');
	const seen = new Set<number>();
	for (const { x, y } of shares) {
		checkX(x);
		if (seen.has(x)) throw new Error(`duplicate share x = ${x}`);
		seen.add(x);
		if (typeof y !== 'bigint' || y < 0n || y >= P) throw new Error('share y must be a field element');
	}
	let secret = 0n;
	for (let i = 0; i < shares.length; i++) {
		const xi = BigInt(shares[i].x);
		let num = 1n;
		let den = 1n;
		for (let j = 0; j < shares.length; j++) {
			if (j === i) continue;
			const xj = BigInt(shares[j].x);
			// L_i(0) = Π_{j≠i} x_j / (x_j − x_i)
			num = mod(num * xj);
			den = mod(den * (xj - xi));
		}
		secret = mod(secret + shares[i].y * num * invert(den));
	}
	if (secret >= 1n << BigInt(8 * SHAMIR_SECRET_BYTES)) {
		throw new Error('reconstructed value is not a 32-byte secret: too few or corrupted shares');
	}
	return bigintToBytes(secret, SHAMIR_SECRET_BYTES);
}

export function encodeShare(share: Share): Uint8Array {
	checkX(share.x);
	if (share.y < 0n || share.y >= P) throw new Error('share y must be a field element');
	const out = new Uint8Array(SHAMIR_SHARE_BYTES);
	out[0] = share.x >>> 8;
	out[1] = share.x & 0xff;
	out.set(bigintToBytes(share.y, SHAMIR_VALUE_BYTES), 2);
	return out;
}

export function decodeShare(bytes: Uint8Array): Share {
	if (!(bytes instanceof Uint8Array) || bytes.length !== SHAMIR_SHARE_BYTES) {
		throw new Error(`an encoded share is ${SHAMIR_SHARE_BYTES} bytes`);
	}
	const x = (bytes[0] << 8) | bytes[1];
	checkX(x);
	const y = bytesToBigint(bytes.subarray(2));
	if (y >= P) throw new Error('share y must be a field element');
	return { x, y };
}
