import { createRng } from '@qflare/fl';

/** How a participant's data is split: the hold-out scores global models (federated evaluation). */
export interface SplitOptions {
	/** Share of the samples kept out of training, in [0, 1). */
	holdOutFraction: number;
	/** Fixes which samples are held out, so re-importing the same file gives the same split. */
	seed: number;
}

export function checkSplitOptions(split: SplitOptions): void {
	if (!(split.holdOutFraction >= 0 && split.holdOutFraction < 1)) {
		throw new RangeError(`holdOutFraction must be in [0, 1), got ${split.holdOutFraction}`);
	}
	if (!Number.isFinite(split.seed)) throw new RangeError(`seed must be a finite number, got ${split.seed}`);
}

/**
 * Samples held out of `count`: none for fraction 0; otherwise round(count x fraction), at least 1
 * (so a small device still scores the model) and at most count - 1 (so it still trains). A single
 * sample is never held out.
 */
export function holdOutCount(count: number, fraction: number): number {
	if (fraction <= 0 || count < 2) return 0;
	return Math.min(count - 1, Math.max(1, Math.round(count * fraction)));
}

/**
 * Splits sample indices 0..count-1 into train and hold-out, drawn by a seeded Fisher-Yates
 * shuffle (mulberry32): the same (count, fraction, seed) always gives the same split. Both lists
 * are in ascending order, so the prepared arrays keep the file's order.
 */
export function splitIndices(count: number, split: SplitOptions): { train: Uint32Array; holdOut: Uint32Array } {
	checkSplitOptions(split);
	const held = holdOutCount(count, split.holdOutFraction);
	const order = new Uint32Array(count);
	for (let i = 0; i < count; i++) order[i] = i;
	const rng = createRng(split.seed);
	for (let i = count - 1; i > 0; i--) {
		const j = rng.int(i + 1);
		const t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	const holdOut = order.slice(0, held).sort();
	const train = order.slice(held).sort();
	return { train, holdOut };
}
