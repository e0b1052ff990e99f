import { applyMaskInPlace } from './mask-stream';

// Masking in Z_{2^32}. Participant i uploads
//   y_i = x_i + PRG(b_i) + Σ_{j ∈ N(i), j > i} PRG(s_ij) − Σ_{j ∈ N(i), j < i} PRG(s_ij),
// so on every edge whose two ends both uploaded the pair mask appears once with + and once with −
// and cancels in Σ y_i. What remains is removed by the server once survivors' shares let it:
// - PRG(b_u) for every u whose y_u is in the sum (self seeds reconstructed from shares);
// - for every edge (d, s) with d dropped before uploading and s in the sum, the uncancelled
//   ±PRG(s_ds) that s added (pair seed recovered from d's reconstructed key seed).
// The self mask is what keeps y_u hidden if u's pair masks get removed because u was wrongly
// believed to have dropped (a late upload).

export interface MaskingSecrets {
	myIndex: number;
	/** Seed of the self mask b_i, 32 bytes. */
	selfSeed: Uint8Array;
	/** Pair seed with each neighbour that completed the key agreement. */
	pairSeeds: ReadonlyMap<number, Uint8Array>;
}

export interface DroppedPair {
	/** Dropped before uploading: its y is not in the sum. */
	dropped: number;
	/** Its neighbour whose y is in the sum. */
	survivor: number;
	seed: Uint8Array;
}

export interface UnmaskInputs {
	/** Self seeds of every participant whose masked update is in the sum. */
	selfSeeds: readonly Uint8Array[];
	droppedPairs: readonly DroppedPair[];
}

/** +1 when `me` adds the pair mask shared with `them`, −1 when it subtracts it. */
export function pairMaskSign(me: number, them: number): 1 | -1 {
	if (me === them) throw new Error('a participant has no pair mask with itself');
	return me < them ? 1 : -1;
}

export function addModular(a: Uint32Array, b: Uint32Array): Uint32Array {
	return addModularInPlace(new Uint32Array(a), b);
}

/** acc += x mod 2^32 (Uint32Array stores wrap). */
export function addModularInPlace(acc: Uint32Array, x: Uint32Array): Uint32Array {
	if (acc.length !== x.length) throw new Error(`length mismatch: ${acc.length} vs ${x.length}`);
	for (let i = 0; i < acc.length; i++) acc[i] += x[i];
	return acc;
}

export function subtractModular(a: Uint32Array, b: Uint32Array): Uint32Array {
	if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
	const out = new Uint32Array(a);
	for (let i = 0; i < out.length; i++) out[i] -= b[i];
	return out;
}

/** Σ of equally long vectors mod 2^32, as the server folds uploads. */
export function sumModular(vectors: readonly Uint32Array[]): Uint32Array {
	if (vectors.length === 0) throw new Error('nothing to sum');
	const acc = new Uint32Array(vectors[0].length);
	for (const v of vectors) addModularInPlace(acc, v);
	return acc;
}

export function maskUpdate(encoded: Uint32Array, secrets: MaskingSecrets): Uint32Array {
	return finish(maskSteps(encoded, secrets));
}

/**
 * maskUpdate one mask at a time: it pauses after each mask expansion, so a page can keep drawing
 * between them (a large model takes a while per mask). Returns the masked words.
 */
export function* maskSteps(encoded: Uint32Array, secrets: MaskingSecrets): Generator<void, Uint32Array> {
	const out = new Uint32Array(encoded);
	applyMaskInPlace(out, secrets.selfSeed, 1);
	for (const [neighbour, seed] of secrets.pairSeeds) {
		yield;
		applyMaskInPlace(out, seed, pairMaskSign(secrets.myIndex, neighbour));
	}
	return out;
}

export function unmaskSum(maskedSum: Uint32Array, inputs: UnmaskInputs): Uint32Array {
	return finish(unmaskSteps(maskedSum, inputs));
}

/** Runs a step generator to its end without pausing. */
function finish<T>(steps: Generator<void, T>): T {
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
	}
}

/**
 * unmaskSum one mask at a time: it pauses after each mask expansion (milliseconds for a large
 * model), so a server can answer other requests between them. Returns the unmasked words.
 */
export function* unmaskSteps(maskedSum: Uint32Array, inputs: UnmaskInputs): Generator<void, Uint32Array> {
	const out = new Uint32Array(maskedSum);
	const seen = new Set<string>();
	for (const { dropped, survivor } of inputs.droppedPairs) {
		const key = `${dropped}:${survivor}`;
		if (seen.has(key)) throw new Error(`pair (${dropped}, ${survivor}) listed twice`);
		seen.add(key);
	}
	for (const seed of inputs.selfSeeds) {
		applyMaskInPlace(out, seed, -1);
		yield;
	}
	for (const { dropped, survivor, seed } of inputs.droppedPairs) {
		// Undo what the survivor added: it used sign pairMaskSign(survivor, dropped).
		applyMaskInPlace(out, seed, pairMaskSign(survivor, dropped) === 1 ? -1 : 1);
		yield;
	}
	return out;
}
