import { z } from 'zod';

// Wire format of secure aggregation (SecAgg+, Bell et al. 2020). The math is in
// @qflare/fl/secagg; the phases, in order, for one round:
//   task     server -> each selected device: RoundTask.secure (roster, graph seed, degree,
//            threshold, fixed-point parameters). Devices are numbered by their place in roster.
//   keys     device -> server `secagg:keys`: its fresh mask and channel ML-KEM public keys,
//            signed with its ML-DSA device key.
//   neighbours server -> each device that sent keys `secagg:neighbours`: the keys of its graph
//            neighbours that sent theirs, with their device public keys to check the signatures.
//   shares   device -> server `secagg:shares`: for each neighbour with a higher index the mask KEM
//            ciphertext; for every neighbour a share envelope (ML-KEM to the neighbour's channel
//            key, then AES-GCM) holding its Shamir shares of the device's self-mask seed and
//            mask key seed.
//   relay    server -> each device that sent shares `secagg:relay`: which neighbours completed
//            the exchange, their ciphertexts and envelopes addressed to it.
//   upload   device -> server `round:update` with a 'u32' payload: the masked fixed-point words.
//   unmask   server -> devices whose masked update arrived `secagg:unmask`: who uploaded and who
//            dropped before uploading; each answers `secagg:reveal` with self-seed shares of the
//            former and key-seed shares of the latter, never both for one participant.
// Everything the server relays is opaque to it: public keys, ciphertexts, sealed envelopes, and
// masked words. What it opens are the shares of step `unmask`, which remove the masks of the sum
// only.

const Base64 = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64');
const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'expected an id');
/** Roster index of a participant in the round. */
const Index = z.number().int().min(0).max(99_999);
const MAX_NEIGHBOURS = 1_000;

/** Fixed-point parameters of a round (see chooseFixedPoint in @qflare/fl). */
export const SecureFixedPoint = z.object({
	clip: z.number().positive().finite(),
	scaleBits: z.number().int().min(-64).max(64),
	maxClients: z.number().int().min(1),
	maxSamplesPerClient: z.number().int().min(1)
});
export type SecureFixedPoint = z.infer<typeof SecureFixedPoint>;

/** Sent inside RoundTask.secure: what every selected device needs to run the round's protocol. */
export const SecureRoundSetup = z.object({
	/** Selected device ids; a device's index is its place here. */
	roster: z.array(Id).min(2).max(100_000),
	/** Base64 of 32 bytes: everyone derives the same neighbour graph from it. */
	graphSeed: Base64,
	degree: z.number().int().min(2),
	/** Shares needed to rebuild a seed: a strict majority of `degree`. */
	threshold: z.number().int().min(1),
	fixedPoint: SecureFixedPoint,
	/**
	 * 'samples': the device masks n_k·Δ_k with n_k (weighted FedAvg). 'equal': DP-FedAvg's
	 * fixed-denominator estimator, n_k = 1 for everyone.
	 */
	weighting: z.enum(['samples', 'equal']),
	/**
	 * Distributed DP: the standard deviation of the Gaussian noise each device adds to each
	 * coordinate of its clipped delta (z·C/√m for m selected devices), so that the sum carries
	 * N(0, (z·C)²); null without DP.
	 */
	noiseStd: z.number().min(0).finite().nullable()
});
export type SecureRoundSetup = z.infer<typeof SecureRoundSetup>;

// device -> server

export const SecureKeysMessage = z.object({
	roundId: Id,
	/** ML-KEM-768 public key for the pairwise mask seeds (1184 bytes). */
	maskPublicKey: Base64,
	/** ML-KEM-768 public key that share envelopes are sealed to (1184 bytes). */
	channelPublicKey: Base64,
	/** Base64 ML-DSA-65 signature over secaggKeysMessage (@qflare/pq). */
	signature: Base64
});
export type SecureKeysMessage = z.infer<typeof SecureKeysMessage>;

export const SecureSharesMessage = z.object({
	roundId: Id,
	/** Mask KEM ciphertexts (1088 bytes) to each neighbour with a higher index that sent keys. */
	ciphertexts: z.array(z.object({ to: Index, ciphertext: Base64 })).max(MAX_NEIGHBOURS),
	/** One sealed envelope to each neighbour that sent keys. */
	envelopes: z.array(z.object({ to: Index, envelope: Base64 })).max(MAX_NEIGHBOURS)
});
export type SecureSharesMessage = z.infer<typeof SecureSharesMessage>;

export const SecureShareKind = z.enum(['self', 'key']);
export type SecureShareKind = z.infer<typeof SecureShareKind>;

export const SecureRevealMessage = z.object({
	roundId: Id,
	/** Shamir shares (encodeShare, 68 bytes) this device holds of its neighbours' seeds. */
	shares: z.array(z.object({ of: Index, kind: SecureShareKind, share: Base64 })).max(MAX_NEIGHBOURS)
});
export type SecureRevealMessage = z.infer<typeof SecureRevealMessage>;

// server -> device (a device checks these too: the server is not trusted with its secrets)

export const SecureNeighbourKeys = z.object({
	index: Index,
	deviceId: Id,
	/** The neighbour's ML-DSA public key, which signed its keys. */
	devicePublicKey: Base64,
	maskPublicKey: Base64,
	channelPublicKey: Base64,
	signature: Base64
});
export type SecureNeighbourKeys = z.infer<typeof SecureNeighbourKeys>;

export const SecureNeighbours = z.object({
	roundId: Id,
	neighbours: z.array(SecureNeighbourKeys).max(MAX_NEIGHBOURS)
});
export type SecureNeighbours = z.infer<typeof SecureNeighbours>;

export const SecureRelay = z.object({
	roundId: Id,
	/** The receiver's neighbours that sent their shares: the pairs whose masks it must add. */
	active: z.array(Index).max(MAX_NEIGHBOURS),
	ciphertexts: z.array(z.object({ from: Index, ciphertext: Base64 })).max(MAX_NEIGHBOURS),
	envelopes: z.array(z.object({ from: Index, envelope: Base64 })).max(MAX_NEIGHBOURS)
});
export type SecureRelay = z.infer<typeof SecureRelay>;

export const SecureUnmaskRequest = z.object({
	roundId: Id,
	/** Everyone whose masked update is in the sum. */
	uploaded: z.array(Index).max(100_000),
	/** Sent shares but no masked update. Disjoint from uploaded. */
	dropped: z.array(Index).max(100_000)
});
export type SecureUnmaskRequest = z.infer<typeof SecureUnmaskRequest>;

const encoder = new TextEncoder();

/** Bound into every pair seed of a round (PairOptions.context), so no seed serves two rounds. */
export function secureRoundContext(roundId: string): Uint8Array {
	return encoder.encode(`qflare/secagg/round/${roundId}`);
}

/** Additional data of the share envelope `from` seals to `to`: the server cannot redirect it. */
export function shareEnvelopeAad(roundId: string, from: number, to: number): Uint8Array {
	return encoder.encode(`qflare/secagg/shares/v1\n${roundId}\n${from}\n${to}`);
}
