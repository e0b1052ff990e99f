// Checks every update passes before it touches an aggregate: one NaN poisons a whole round.

export type UpdateCheck =
	| { ok: true; l2Norm: number }
	| { ok: false; code: 'WRONG_SHAPE' | 'NON_FINITE'; message: string };

/** Euclidean norm, summed in Float64 so long float32 vectors do not lose precision. */
export function l2Norm(delta: Float32Array): number {
	let sum = 0;
	for (let i = 0; i < delta.length; i++) sum += delta[i] * delta[i];
	return Math.sqrt(sum);
}

/** Squared Euclidean distance between two vectors of one length. */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
	if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
	let sum = 0;
	for (let i = 0; i < a.length; i++) {
		const d = a[i] - b[i];
		sum += d * d;
	}
	return sum;
}

export function checkUpdate(delta: Float32Array, expectedLength: number): UpdateCheck {
	if (delta.length !== expectedLength) {
		return { ok: false, code: 'WRONG_SHAPE', message: `update has ${delta.length} values, the model has ${expectedLength}` };
	}
	let sum = 0;
	for (let i = 0; i < delta.length; i++) {
		const x = delta[i];
		if (!Number.isFinite(x)) {
			return { ok: false, code: 'NON_FINITE', message: `update value ${i} is ${x}` };
		}
		sum += x * x;
	}
	return { ok: true, l2Norm: Math.sqrt(sum) };
}

/**
 * Scales delta down to L2 norm maxNorm when it is longer; returns the input itself when it
 * is not. Float32 rounding can leave the scaled copy a hair above maxNorm, which would break
 * the sensitivity bound DP relies on, so the scale is nudged down until it is not.
 */
export function clipToNorm(delta: Float32Array, maxNorm: number): { delta: Float32Array; clipped: boolean; norm: number } {
	if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`maxNorm must be a positive number, got ${maxNorm}`);
	const norm = l2Norm(delta);
	if (norm <= maxNorm) return { delta, clipped: false, norm };
	let scale = maxNorm / norm;
	const out = new Float32Array(delta.length);
	for (let attempt = 0; attempt < 8; attempt++) {
		for (let i = 0; i < delta.length; i++) out[i] = delta[i] * scale;
		if (l2Norm(out) <= maxNorm) break;
		scale *= 1 - 2 ** -23;
	}
	return { delta: out, clipped: true, norm };
}
