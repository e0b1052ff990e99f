/** Parameter count of the FedAvg CNN (packages/trainer MODEL_SPECS.cnn); checked against the spec at run time. */
export const CNN_PARAMETERS = 1_663_370;

/**
 * Deterministic update-like values (about N(0, 0.01)): random enough that sorting and
 * distances do real work, cheap enough to make hundreds of MB quickly.
 */
export function syntheticDelta(length: number, seed: number): Float32Array {
	const out = new Float32Array(length);
	let s = (seed * 2654435761) >>> 0 || 1;
	for (let i = 0; i < length; i++) {
		// xorshift32; the sum of two uniforms is a cheap bell shape.
		s ^= s << 13;
		s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5;
		s >>>= 0;
		const a = s / 4294967296;
		s ^= s << 13;
		s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5;
		s >>>= 0;
		out[i] = (a + s / 4294967296 - 1) * 0.02;
	}
	return out;
}
