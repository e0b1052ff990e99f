/**
 * Whether participant `index` drops out when selected for round `round`. A hash of (seed,
 * index, round) rather than one shared random stream, so the answer does not depend on the
 * order in which participants happen to be selected or start training.
 */
export function dropsOut(seed: number, index: number, round: number, probability: number): boolean {
	if (probability <= 0) return false;
	return unitHash(seed, index, round) < probability;
}

/** murmur3's 32-bit finalizer, applied after folding in each integer, to a float in [0, 1). */
export function unitHash(a: number, b: number, c: number): number {
	let h = fmix32(a ^ 0x9e3779b9);
	h = fmix32(h ^ Math.imul(b + 1, 0x85ebca6b));
	h = fmix32(h ^ Math.imul(c + 1, 0xc2b2ae35));
	return h / 2 ** 32;
}

function fmix32(x: number): number {
	let h = x >>> 0;
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}
