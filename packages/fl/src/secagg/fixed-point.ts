// Fixed-point encoding of weighted updates for secure aggregation. Masks live in Z_{2^32}, so the
// server can only ever learn the sum modulo 2^32; the parameters are chosen so that the true sum
// of every coordinate (and of the sample counts) fits in a signed 32-bit integer, which makes the
// modular sum equal to the integer sum. Weighted FedAvg needs Σ n_k·Δ_k and Σ n_k, so both are
// masked together: the encoding is the vector n_k·clip(Δ_k)·2^scaleBits with n_k appended.
//
// Rounding is deterministic, half away from zero: the same update always encodes to the same
// words (reproducible tests and re-sends), no RNG has to be threaded through the client, and the
// worst case per coordinate is half a quantum (stochastic rounding is unbiased but its worst case
// is a whole quantum; its bias advantage is irrelevant at the precisions used here).

export interface FixedPointParams {
	/** Each coordinate of Δ is clipped to [-clip, clip] before encoding. */
	clip: number;
	/** One quantum is 2^-scaleBits (of n_k·Δ). */
	scaleBits: number;
	/** The sum is guaranteed not to wrap for at most this many clients... */
	maxClients: number;
	/** ...each contributing a sample count of at most this. */
	maxSamplesPerClient: number;
}

export interface FixedPointBudget {
	maxClients: number;
	maxSamplesPerClient: number;
	clip: number;
}

export interface DecodedSum {
	/** Σ n_k·Δ_k / Σ n_k. */
	mean: Float32Array;
	totalSamples: number;
}

const INT32_MAX = 2 ** 31 - 1;

function checkPositiveInteger(name: string, value: number): void {
	if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
}

function checkParams(params: FixedPointParams): void {
	checkPositiveInteger('maxClients', params.maxClients);
	checkPositiveInteger('maxSamplesPerClient', params.maxSamplesPerClient);
	if (!(params.clip > 0) || !Number.isFinite(params.clip)) throw new Error('clip must be a positive finite number');
	if (!Number.isInteger(params.scaleBits)) throw new Error('scaleBits must be an integer');
	if (!fits(params, params.scaleBits)) {
		throw new Error('fixed-point parameters let the sum of encoded values overflow signed 32-bit');
	}
}

/**
 * Largest possible |Σ_k v_k| for a coordinate: each |v_k| ≤ n_k·clip·2^s + 1/2 after rounding,
 * and Σ n_k ≤ maxClients·maxSamplesPerClient.
 */
function worstCoordinateSum(budget: FixedPointBudget, scaleBits: number): number {
	return budget.maxClients * budget.maxSamplesPerClient * budget.clip * 2 ** scaleBits + budget.maxClients / 2;
}

function fits(budget: FixedPointBudget, scaleBits: number): boolean {
	return worstCoordinateSum(budget, scaleBits) <= INT32_MAX && budget.maxClients * budget.maxSamplesPerClient <= INT32_MAX;
}

/**
 * The finest scale for which n clients with at most maxSamplesPerClient samples each cannot wrap
 * signed 32-bit. The 31 bits are shared between range (log2(maxClients·maxSamples·clip)) and
 * precision (scaleBits), so capping n_k is what buys precision.
 */
export function chooseFixedPoint(budget: FixedPointBudget): FixedPointParams {
	checkPositiveInteger('maxClients', budget.maxClients);
	checkPositiveInteger('maxSamplesPerClient', budget.maxSamplesPerClient);
	if (!(budget.clip > 0) || !Number.isFinite(budget.clip)) throw new Error('clip must be a positive finite number');
	if (budget.maxClients * budget.maxSamplesPerClient > INT32_MAX) {
		throw new Error('maxClients·maxSamplesPerClient must stay below 2^31 so the sample count cannot wrap');
	}
	// log2 gives the neighbourhood; the exact check settles floating-point edge cases.
	let scaleBits = Math.floor(Math.log2(INT32_MAX / (budget.maxClients * budget.maxSamplesPerClient * budget.clip)));
	while (fits(budget, scaleBits + 1)) scaleBits++;
	while (!fits(budget, scaleBits)) scaleBits--;
	if (scaleBits < 1) {
		throw new Error('no fixed-point scale with at least 1 fractional bit fits: lower clip, maxClients or maxSamplesPerClient');
	}
	return { ...budget, scaleBits };
}

/** n_k·clip(Δ)·2^s rounded half away from zero, as two's-complement words; n_k is the last word. */
export function encodeWeighted(delta: Float32Array, numSamples: number, params: FixedPointParams): Uint32Array {
	checkParams(params);
	if (!Number.isSafeInteger(numSamples) || numSamples < 0 || numSamples > params.maxSamplesPerClient) {
		throw new Error(`numSamples must be an integer in [0, ${params.maxSamplesPerClient}]`);
	}
	const out = new Uint32Array(delta.length + 1);
	const scale = numSamples * 2 ** params.scaleBits;
	for (let i = 0; i < delta.length; i++) {
		const d = delta[i];
		if (!Number.isFinite(d)) throw new Error(`delta[${i}] is not finite`);
		const clipped = d > params.clip ? params.clip : d < -params.clip ? -params.clip : d;
		// Exact in float64: a float32 times an integer below 2^31 times a power of two.
		const v = clipped * scale;
		const rounded = v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
		out[i] = rounded >>> 0;
	}
	out[delta.length] = numSamples;
	return out;
}

/**
 * Reads a modular sum of encodings back as the weighted mean. Throws when the words cannot be a
 * sum of at most maxClients encodings (sample count out of range, or a coordinate beyond what the
 * count allows): that is what a sum with a mask left in it looks like.
 */
export function decodeSum(sum: Uint32Array, params: FixedPointParams): DecodedSum {
	checkParams(params);
	if (sum.length < 1) throw new Error('an encoded sum has at least the sample-count word');
	const length = sum.length - 1;
	const totalSamples = sum[length];
	if (totalSamples < 1 || totalSamples > params.maxClients * params.maxSamplesPerClient) {
		throw new Error(`decoded sample count ${totalSamples} is out of range: masks not fully removed?`);
	}
	const quantum = 2 ** params.scaleBits;
	const limit = totalSamples * params.clip * quantum + params.maxClients / 2;
	const mean = new Float32Array(length);
	for (let i = 0; i < length; i++) {
		const signed = sum[i] | 0;
		if (Math.abs(signed) > limit) {
			throw new Error(`decoded coordinate ${i} exceeds what ${totalSamples} samples allow: masks not fully removed?`);
		}
		mean[i] = signed / quantum / totalSamples;
	}
	return { mean, totalSamples };
}

/**
 * Maximum |decoded mean − Σ n_k·clip(Δ_k) / Σ n_k| per coordinate when `clients` encodings with
 * `totalSamples` samples in all were summed: each client's rounding is at most half a quantum, so
 * the weighted sum is off by ≤ clients/2 quanta, divided by the total; plus the float32 output
 * rounding (half an ulp at |mean| ≤ clip, i.e. clip·2^-24) and the float64 division (far below),
 * covered together by clip·2^-23. Encodings with n_k = 0 are exact, so `clients` may count only
 * those with n_k > 0; then clients ≤ totalSamples and the first term is at most 2^-(scaleBits+1).
 */
export function quantisationErrorBound(params: FixedPointParams, clients: number, totalSamples: number): number {
	checkPositiveInteger('clients', clients);
	checkPositiveInteger('totalSamples', totalSamples);
	return clients / (2 ** (params.scaleBits + 1) * totalSamples) + params.clip * 2 ** -23;
}
