import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

// Pairwise seeds between graph neighbours from ML-KEM-768 (post-quantum stand-in for the
// Diffie-Hellman of SecAgg). Everything a participant does is a function of one 32-byte key
// seed: the key pair (keygen from an HKDF expansion of the seed) and, for each neighbour with a
// higher index, the encapsulation randomness (HKDF of the seed and the pair). The lower index of
// a pair encapsulates to the higher one. Hence whoever reconstructs a dropped participant's key
// seed from its Shamir shares can recompute every pairwise seed it had, given only the public
// keys and ciphertexts the server relayed -- which is exactly what removing its masks needs.
//
// Two purposes, two independent key seeds:
// - 'mask': the seed is Shamir-shared; its pair seeds expand to the pairwise masks.
// - 'channel': the seed never leaves the device; its key pair is what neighbours seal the
//   envelopes carrying their Shamir shares to (sealToPublicKey in @qflare/pq: a fresh
//   encapsulation per envelope, so no extra message round for a channel pair seed). If the channel
//   were derived from the mask seed, a server that reconstructs it (claiming u dropped) could open
//   the envelopes sent to u and collect its neighbours' self-mask shares as well.
// The purpose is also mixed into every derivation, so an accidental reuse of one seed for both
// still yields unrelated keys (but would still leak the channel when the seed is reconstructed).

export const KEM_KEY_SEED_BYTES = 32;
export const KEM_PUBLIC_KEY_BYTES = 1184;
export const KEM_CIPHERTEXT_BYTES = 1088;
export const PAIR_SEED_BYTES = 32;

export type PairPurpose = 'mask' | 'channel';

export interface PairOptions {
	/** Default 'mask'. */
	purpose?: PairPurpose;
	/** Bound into the encapsulation randomness and the pair seed, e.g. project and round ids. */
	context?: Uint8Array;
}

export interface KemKeys {
	publicKey: Uint8Array;
	secretKey: Uint8Array;
}

export interface Encapsulated {
	ciphertext: Uint8Array;
	seed: Uint8Array;
}

/** What the server relayed between a dropped participant and one of its neighbours. */
export interface PairTranscript {
	survivorPublicKey: Uint8Array;
	/** The ciphertext of the pair, whichever side produced it. */
	ciphertext: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function checkBytes(name: string, bytes: Uint8Array, length: number): void {
	if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new Error(`${name} must be ${length} bytes`);
}

function checkIndex(name: string, i: number): void {
	if (!Number.isInteger(i) || i < 0 || i > 0xffffffff) throw new Error(`${name} must be a uint32`);
}

/** label \0 purpose \0 [low u32be, high u32be] context -- unambiguous since only context varies in length. */
function info(label: string, purpose: PairPurpose, pair: readonly [number, number] | null, context: Uint8Array): Uint8Array {
	const head = encoder.encode(`qflare/secagg/v1/${label}\0${purpose}\0`);
	const out = new Uint8Array(head.length + (pair ? 8 : 0) + context.length);
	out.set(head, 0);
	let at = head.length;
	if (pair) {
		const view = new DataView(out.buffer);
		view.setUint32(at, pair[0]);
		view.setUint32(at + 4, pair[1]);
		at += 8;
	}
	out.set(context, at);
	return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
	return diff === 0;
}

function pairSeed(sharedSecret: Uint8Array, low: number, high: number, purpose: PairPurpose, context: Uint8Array): Uint8Array {
	return hkdf(sha256, sharedSecret, undefined, info('pair-seed', purpose, [low, high], context), PAIR_SEED_BYTES);
}

export function deriveKemKeys(keySeed: Uint8Array, purpose: PairPurpose = 'mask'): KemKeys {
	checkBytes('key seed', keySeed, KEM_KEY_SEED_BYTES);
	// FIPS 203 keygen takes 64 bytes (d || z).
	const { publicKey, secretKey } = ml_kem768.keygen(hkdf(sha256, keySeed, undefined, info('kem-keygen', purpose, null, EMPTY), 64));
	return { publicKey, secretKey };
}

/** Run by the lower index of the pair; the ciphertext goes to the other side through the server. */
export function encapsulateFor(
	myKeySeed: Uint8Array,
	myIndex: number,
	theirIndex: number,
	theirPublicKey: Uint8Array,
	options: PairOptions = {}
): Encapsulated {
	const { purpose = 'mask', context = EMPTY } = options;
	checkBytes('key seed', myKeySeed, KEM_KEY_SEED_BYTES);
	checkIndex('myIndex', myIndex);
	checkIndex('theirIndex', theirIndex);
	if (myIndex >= theirIndex) throw new Error('the lower index of a pair encapsulates');
	checkBytes('ML-KEM-768 public key', theirPublicKey, KEM_PUBLIC_KEY_BYTES);
	const pair = [myIndex, theirIndex] as const;
	const randomness = hkdf(sha256, myKeySeed, undefined, info('kem-encaps', purpose, pair, context), 32);
	const { cipherText, sharedSecret } = ml_kem768.encapsulate(theirPublicKey, randomness);
	return { ciphertext: cipherText, seed: pairSeed(sharedSecret, myIndex, theirIndex, purpose, context) };
}

/**
 * Run by the higher index of the pair. A tampered ciphertext gives an unrelated seed (ML-KEM's
 * implicit rejection), not an error: the masks then fail to cancel and decoding rejects the sum.
 */
export function decapsulateFrom(
	myKeySeed: Uint8Array,
	myIndex: number,
	theirIndex: number,
	ciphertext: Uint8Array,
	options: PairOptions = {}
): Uint8Array {
	const { purpose = 'mask', context = EMPTY } = options;
	checkIndex('myIndex', myIndex);
	checkIndex('theirIndex', theirIndex);
	if (theirIndex >= myIndex) throw new Error('the higher index of a pair decapsulates');
	checkBytes('ML-KEM-768 ciphertext', ciphertext, KEM_CIPHERTEXT_BYTES);
	const { secretKey } = deriveKemKeys(myKeySeed, purpose);
	return pairSeed(ml_kem768.decapsulate(ciphertext, secretKey), theirIndex, myIndex, purpose, context);
}

/**
 * The mask pair seed between a participant that dropped before uploading and a neighbour whose
 * update is in the sum, from the dropped one's reconstructed key seed. When the dropped one was
 * the encapsulating side, the recomputed ciphertext must equal the relayed one: a mismatch means
 * a wrong key seed or a relay that was tampered with.
 */
export function recoverPairSeed(
	droppedKeySeed: Uint8Array,
	droppedIndex: number,
	survivorIndex: number,
	transcript: PairTranscript,
	context: Uint8Array = EMPTY
): Uint8Array {
	if (droppedIndex < survivorIndex) {
		const again = encapsulateFor(droppedKeySeed, droppedIndex, survivorIndex, transcript.survivorPublicKey, { context });
		if (!equalBytes(again.ciphertext, transcript.ciphertext)) {
			throw new Error(`recomputed ciphertext of pair (${droppedIndex}, ${survivorIndex}) differs from the relayed one`);
		}
		return again.seed;
	}
	return decapsulateFrom(droppedKeySeed, droppedIndex, survivorIndex, transcript.ciphertext, { context });
}
