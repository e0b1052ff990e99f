// The per-update numeric work of ingestion, with as few passes over the update as exact
// behaviour allows. The old path read a 1.66 M-value CNN update five times after decoding it
// into a copy: finite check + norm (checkUpdate), the fold, the distance to the previous
// aggregate, and the previous aggregate's own norm. Here:
//
//   pass 1 (scanUpdate): finiteness, the update's sum of squares (its L2 norm, for screening)
//          and, when a reference aggregate is given, sum (delta - ref)^2 and sum ref^2 (the
//          trust score's relative distance), all in one read of the update.
//   pass 2: the strategy's fold (AggregationStrategy.add), run by the caller only once the
//          update passed screening.
//
// Why not fold in pass 1 and roll back on rejection: a fold into the Float64 accumulator is
// not exactly reversible (sum + w*x - w*x need not equal sum), so rolling back would need a
// scratch copy of the accumulator (a third read-and-write of the model length) and every
// strategy's fold would have to be split into a scratch and a commit step. Two passes keep the
// accumulators untouched and their fold order and arithmetic exactly as before.
//
// Clipping stays on the old path: the clipped vector is a new array whose norm is re-checked
// (and its scale nudged) after rounding to float32, and the trust distance is that of the
// clipped vector, so it is materialised exactly as clipToNorm always did. It only happens to
// updates over the bound, and its result is an owned copy the caller may keep.
import type { ScreenOptions, ScreenRejectCode } from './screening';
import { relativeDistance, relativeDistanceFromTerms } from './trust';
import { clipToNorm } from './validation';

export interface UpdateScan {
	/** Index of the first value that is NaN or infinite; -1 when every value is finite. */
	nonFinite: number;
	/** Sum of squares of the values (summed in float64, in index order); partial when nonFinite >= 0. */
	sumSquares: number;
	/** Sum of (delta[i] - reference[i])^2; 0 without a reference. */
	distanceSquares: number;
	/** Sum of reference[i]^2; 0 without a reference. */
	referenceSquares: number;
}

/**
 * Pass 1 over an update: stops at the first non-finite value (as checkUpdate does). Each sum
 * is accumulated in the same order and precision as l2Norm, checkUpdate and relativeDistance,
 * so the results are bit-identical to theirs. `reference`, when given, must have delta's length.
 */
export function scanUpdate(delta: Float32Array, reference: Float32Array | null = null): UpdateScan {
	const n = delta.length;
	let sum = 0;
	if (reference === null) {
		for (let i = 0; i < n; i++) {
			const x = delta[i];
			// x - x is 0 for every finite x and NaN for NaN and +-Infinity: one subtraction
			// instead of Number.isFinite's call on the hot path.
			if (x - x !== 0) return { nonFinite: i, sumSquares: sum, distanceSquares: 0, referenceSquares: 0 };
			sum += x * x;
		}
		return { nonFinite: -1, sumSquares: sum, distanceSquares: 0, referenceSquares: 0 };
	}
	if (reference.length !== n) throw new Error(`scanUpdate: reference has ${reference.length} values, the update ${n}`);
	let dist = 0;
	let ref = 0;
	for (let i = 0; i < n; i++) {
		const x = delta[i];
		if (x - x !== 0) return { nonFinite: i, sumSquares: sum, distanceSquares: dist, referenceSquares: ref };
		sum += x * x;
		const a = reference[i];
		const d = x - a;
		dist += d * d;
		ref += a * a;
	}
	return { nonFinite: -1, sumSquares: sum, distanceSquares: dist, referenceSquares: ref };
}

export interface IngestOptions extends ScreenOptions {
	/** The previous aggregate delta; the trust distance is measured to it when its length matches. */
	reference?: Float32Array | null;
}

export type IngestResult =
	| {
			ok: true;
			/** The update itself when it was not clipped; a new clipped array otherwise. */
			delta: Float32Array;
			/** The norm as received. */
			l2Norm: number;
			clipped: boolean;
			/** relativeDistance(delta, reference) of the delta returned; null without a usable reference. */
			distance: number | null;
	  }
	| { ok: false; code: ScreenRejectCode; message: string };

/**
 * screenUpdate plus the trust distance, in one pass for an update that is not clipped. Same
 * codes, messages, norm, clipping and distance as screenUpdate followed by relativeDistance.
 */
export function screenAndMeasure(delta: Float32Array, options: IngestOptions): IngestResult {
	if (delta.length !== options.expectedLength) {
		return { ok: false, code: 'WRONG_SHAPE', message: `update has ${delta.length} values, the model has ${options.expectedLength}` };
	}
	const reference = options.reference && options.reference.length === delta.length ? options.reference : null;
	const scan = scanUpdate(delta, reference);
	if (scan.nonFinite >= 0) {
		return { ok: false, code: 'NON_FINITE', message: `update value ${scan.nonFinite} is ${delta[scan.nonFinite]}` };
	}
	const l2Norm = Math.sqrt(scan.sumSquares);
	const { maxNorm } = options;
	if (maxNorm === undefined || l2Norm <= maxNorm) {
		const distance = reference ? relativeDistanceFromTerms(scan.distanceSquares, scan.referenceSquares) : null;
		return { ok: true, delta, l2Norm, clipped: false, distance };
	}
	if (options.normPolicy === 'reject') {
		return { ok: false, code: 'NORM_TOO_LARGE', message: `update norm ${l2Norm} exceeds the bound ${maxNorm}` };
	}
	const clipped = clipToNorm(delta, maxNorm).delta;
	return { ok: true, delta: clipped, l2Norm, clipped: true, distance: reference ? relativeDistance(clipped, reference) : null };
}
