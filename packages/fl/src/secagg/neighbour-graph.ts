import { maskStream } from './mask-stream';

// SecAgg+ (Bell et al. 2020) replaces the complete graph of SecAgg with a random k-regular one:
// a Harary graph H(k, n) (each position on a ring joined to the k/2 positions on either side)
// laid over a uniformly random permutation of the participants. Masks and shares only travel
// along its edges, so cost per participant is O(k) instead of O(n).
//
// The permutation comes from a 32-byte public seed expanded with ChaCha20 (unbiased rejection
// sampling), not from random.ts: which participants are neighbours decides who could collude to
// unmask someone, so it gets 256 bits of seed and a cryptographic expansion rather than
// mulberry32's 2^32 states. Everyone derives the same graph from the seed the server announces.

export const GRAPH_SEED_BYTES = 32;

export interface NeighbourGraph {
	n: number;
	k: number;
	/** Neighbours of participant i, ascending. */
	neighbours(i: number): readonly number[];
	areNeighbours(i: number, j: number): boolean;
}

/** Uniform integers below a bound from a prefix-stable word stream. */
function uniformDraws(seed: Uint8Array): (bound: number) => number {
	let words = maskStream(seed, 256);
	let next = 0;
	const word = (): number => {
		if (next === words.length) words = maskStream(seed, words.length * 2);
		return words[next++];
	};
	return (bound) => {
		// Reject the top partial range so every residue is equally likely.
		const limit = 2 ** 32 - (2 ** 32 % bound);
		for (;;) {
			const w = word();
			if (w < limit) return w % bound;
		}
	};
}

export function createNeighbourGraph(n: number, k: number, seed: Uint8Array): NeighbourGraph {
	if (!Number.isInteger(n) || n < 3) throw new Error('a neighbour graph needs at least 3 participants');
	if (!Number.isInteger(k) || k < 2 || k % 2 !== 0 || k >= n) throw new Error('degree k must be even, at least 2 and below n');
	if (!(seed instanceof Uint8Array) || seed.length !== GRAPH_SEED_BYTES) throw new Error(`graph seed must be ${GRAPH_SEED_BYTES} bytes`);
	const draw = uniformDraws(seed);
	// position → participant, Fisher-Yates.
	const order = Array.from({ length: n }, (_, i) => i);
	for (let i = n - 1; i > 0; i--) {
		const j = draw(i + 1);
		[order[i], order[j]] = [order[j], order[i]];
	}
	const position = new Array<number>(n);
	order.forEach((participant, p) => (position[participant] = p));
	const lists = Array.from({ length: n }, (_, i) => {
		const p = position[i];
		const out: number[] = [];
		for (let d = 1; d <= k / 2; d++) out.push(order[(p + d) % n], order[(p - d + n) % n]);
		return out.sort((a, b) => a - b);
	});
	const sets = lists.map((list) => new Set(list));
	const check = (i: number): void => {
		if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`participant index ${i} out of range`);
	};
	return {
		n,
		k,
		neighbours: (i) => {
			check(i);
			return lists[i];
		},
		areNeighbours: (i, j) => {
			check(i);
			check(j);
			return sets[i].has(j);
		}
	};
}

/**
 * Degree 2⌈log2 n⌉, the O(log n) of SecAgg+, capped at n − 1 rounded down to even (the largest
 * Harary degree) and at least 2. For n ≤ 8 or so this is (nearly) the complete graph, which is
 * what small rounds should use anyway; at n = 100 it is 14, at n = 10 000 it is 28.
 */
export function suggestedDegree(n: number): number {
	if (!Number.isInteger(n) || n < 3) throw new Error('a neighbour graph needs at least 3 participants');
	const cap = (n - 1) % 2 === 0 ? n - 1 : n - 2;
	return Math.max(2, Math.min(2 * Math.ceil(Math.log2(n)), cap));
}

/**
 * A strict majority of the k neighbours: two disjoint groups of responders can never both reach
 * it, so a server that tells some neighbours "u dropped" and others "u uploaded" cannot collect
 * both u's key seed and u's self-mask seed (Bonawitz et al. 2017, malicious-server variant).
 */
export function suggestedThreshold(k: number): number {
	if (!Number.isInteger(k) || k < 2) throw new Error('degree must be an integer of at least 2');
	return Math.floor(k / 2) + 1;
}
