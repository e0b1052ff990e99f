import { describe, expect, it } from 'vitest';
import { chooseFixedPoint, decodeSum, encodeWeighted, quantisationErrorBound } from './fixed-point';
import { maskStream } from './mask-stream';
import { maskUpdate, sumModular, unmaskSum, type DroppedPair } from './masking';
import { createNeighbourGraph, suggestedDegree } from './neighbour-graph';
import { decapsulateFrom, deriveKemKeys, encapsulateFor, recoverPairSeed } from './pair-secrets';
import { combineShares, decodeShare, encodeShare, splitSecret, type RandomBytes, type Share } from './shamir';

// One whole SecAgg+ round played out in memory, with every message the protocol layer will carry.
// 10 participants; 3 and 8 drop after the key/share exchange but before uploading; 1, 5 and 9
// drop after uploading; 0, 2, 4, 6 and 7 answer the unmasking request.

const N = 10;
const LENGTH = 8;
// Half the round drops, so t is below suggestedThreshold(8) = 5 (a majority of 8 neighbours
// cannot be among 5 survivors); with degree 8 of 9, every participant keeps ≥ 3 surviving neighbours.
const T = 3;
const DROPPED_BEFORE = new Set([3, 8]);
const DROPPED_AFTER = new Set([1, 5, 9]);
const all = Array.from({ length: N }, (_, i) => i);
const uploaders = all.filter((i) => !DROPPED_BEFORE.has(i));
const survivors = uploaders.filter((i) => !DROPPED_AFTER.has(i));

function bytes32(tag: number): Uint8Array {
	return new Uint8Array(maskStream(new Uint8Array(32).fill(tag), 8).buffer);
}

function streamBytes(tag: number): RandomBytes {
	const bytes = new Uint8Array(maskStream(new Uint8Array(32).fill(tag), 8192).buffer);
	let at = 0;
	return (length) => bytes.slice(at, (at += length));
}

const edgeKey = (a: number, b: number): string => `${Math.min(a, b)}-${Math.max(a, b)}`;

// Known updates, within the clip of 1: Δ_i[j] = (i − 4.5)/10 + (j − 3.5)/16, n_i = 50 + 17 i.
const deltas = all.map((i) => Float32Array.from({ length: LENGTH }, (_, j) => (i - 4.5) / 10 + (j - 3.5) / 16));
const samples = all.map((i) => 50 + 17 * i);

function playRound() {
	const k = suggestedDegree(N);
	const graph = createNeighbourGraph(N, k, bytes32(200));
	const params = chooseFixedPoint({ maxClients: N, maxSamplesPerClient: 1000, clip: 1 });
	const keySeeds = all.map((i) => bytes32(100 + i));
	const selfSeeds = all.map((i) => bytes32(150 + i));

	// 1. Advertise keys: every public key goes to the participant's neighbours.
	const publicKeys = keySeeds.map((s) => deriveKemKeys(s).publicKey);

	// 2. Key agreement along edges (lower index encapsulates) and shares to neighbours.
	const ciphertexts = new Map<string, Uint8Array>();
	const pairSeeds = all.map(() => new Map<number, Uint8Array>());
	for (const i of all) {
		for (const j of graph.neighbours(i)) {
			if (i > j) continue;
			const { ciphertext, seed } = encapsulateFor(keySeeds[i], i, j, publicKeys[j]);
			ciphertexts.set(edgeKey(i, j), ciphertext);
			pairSeeds[i].set(j, seed);
			pairSeeds[j].set(i, decapsulateFrom(keySeeds[j], j, i, ciphertext));
		}
	}
	// held[holder].get(owner) = encoded shares of owner's seeds (what the envelope would carry).
	const held = all.map(() => new Map<number, { self: Uint8Array; key: Uint8Array }>());
	for (const i of all) {
		const holders = graph.neighbours(i);
		const selfShares = splitSecret(selfSeeds[i], T, holders.length, streamBytes(i + 1));
		const keyShares = splitSecret(keySeeds[i], T, holders.length, streamBytes(i + 51));
		holders.forEach((h, x) => held[h].set(i, { self: encodeShare(selfShares[x]), key: encodeShare(keyShares[x]) }));
	}

	// 3. Masked upload by everyone but the early droppers.
	const encoded = new Map(uploaders.map((i) => [i, encodeWeighted(deltas[i], samples[i], params)]));
	const masked = new Map(uploaders.map((i) => [i, maskUpdate(encoded.get(i)!, { myIndex: i, selfSeed: selfSeeds[i], pairSeeds: pairSeeds[i] })]));
	const maskedSum = sumModular([...masked.values()]);

	// 4. Unmasking: survivors reveal self-seed shares of uploaders, key-seed shares of early droppers.
	const reconstruct = (owner: number, kind: 'self' | 'key'): Uint8Array => {
		const shares: Share[] = survivors.filter((s) => held[s].has(owner)).map((s) => decodeShare(held[s].get(owner)![kind]));
		expect(shares.length).toBeGreaterThanOrEqual(T);
		return combineShares(shares.slice(0, T));
	};
	const recoveredSelf = uploaders.map((u) => reconstruct(u, 'self'));
	const droppedPairs: DroppedPair[] = [];
	for (const d of DROPPED_BEFORE) {
		const keySeed = reconstruct(d, 'key');
		for (const u of graph.neighbours(d)) {
			if (DROPPED_BEFORE.has(u)) continue;
			const seed = recoverPairSeed(keySeed, d, u, { survivorPublicKey: publicKeys[u], ciphertext: ciphertexts.get(edgeKey(d, u))! });
			droppedPairs.push({ dropped: d, survivor: u, seed });
		}
	}
	return { k, graph, params, encoded, masked, maskedSum, recoveredSelf, droppedPairs, selfSeeds };
}

describe('secure sum of weighted updates (SecAgg+ math end to end)', () => {
	const round = playRound();

	it('uses a real neighbour graph: degree 8 of 9, so not all pairs', () => {
		expect(round.k).toBe(8);
		expect(round.droppedPairs.length).toBeGreaterThan(0);
		expect(round.recoveredSelf).toEqual(uploaders.map((u) => round.selfSeeds[u]));
	});

	it('unmasks to exactly the modular sum of the 8 uploaded encodings', () => {
		const unmasked = unmaskSum(round.maskedSum, { selfSeeds: round.recoveredSelf, droppedPairs: round.droppedPairs });
		expect(unmasked).toEqual(sumModular([...round.encoded.values()]));
	});

	it('decodes to the plain weighted FedAvg mean of the uploaded updates within the stated error', () => {
		const unmasked = unmaskSum(round.maskedSum, { selfSeeds: round.recoveredSelf, droppedPairs: round.droppedPairs });
		const { mean, totalSamples } = decodeSum(unmasked, round.params);
		const total = uploaders.reduce((s, i) => s + samples[i], 0);
		expect(totalSamples).toBe(total);
		expect(total).toBe(8 * 50 + 17 * (0 + 1 + 2 + 4 + 5 + 6 + 7 + 9));
		const bound = quantisationErrorBound(round.params, uploaders.length, total);
		expect(round.params.scaleBits).toBe(17);
		expect(bound).toBeLessThan(1e-6);
		for (let j = 0; j < LENGTH; j++) {
			const plain = uploaders.reduce((s, i) => s + samples[i] * deltas[i][j], 0) / total;
			expect(Math.abs(mean[j] - plain)).toBeLessThanOrEqual(bound);
		}
	});

	it('is garbage when an unmasking step is skipped', () => {
		const total = uploaders.reduce((s, i) => s + samples[i], 0);
		const naive = (words: Uint32Array): number[] => Array.from(words.subarray(0, LENGTH), (w) => (w | 0) / 2 ** round.params.scaleBits / total);
		const plain = Array.from({ length: LENGTH }, (_, j) => uploaders.reduce((s, i) => s + samples[i] * deltas[i][j], 0) / total);
		const variants = [
			unmaskSum(round.maskedSum, { selfSeeds: round.recoveredSelf, droppedPairs: [] }),
			unmaskSum(round.maskedSum, { selfSeeds: round.recoveredSelf.slice(1), droppedPairs: round.droppedPairs }),
			unmaskSum(round.maskedSum, { selfSeeds: round.recoveredSelf, droppedPairs: round.droppedPairs.slice(1) })
		];
		for (const words of variants) {
			expect(() => decodeSum(words, round.params)).toThrow(/masks not fully removed/);
			const far = naive(words).map((v, j) => Math.abs(v - plain[j]));
			expect(Math.max(...far)).toBeGreaterThan(1);
		}
	});

	it('hides every individual update behind its masks', () => {
		for (const [i, words] of round.masked) {
			expect(() => decodeSum(words, round.params)).toThrow(/masks not fully removed/);
			const plainWords = round.encoded.get(i)!;
			// Every word, the sample count included, is far from the plain one modulo 2^32 (a uniform
			// word lands within 2^20 with probability 2^-11; these fixed seeds are pinned).
			for (let j = 0; j <= LENGTH; j++) {
				const d = (words[j] - plainWords[j]) >>> 0;
				expect(Math.min(d, 2 ** 32 - d)).toBeGreaterThan(2 ** 20);
			}
		}
	});
});
