// DP-FedAvg (McMahan et al. 2018, "Learning Differentially Private Recurrent Language Models"):
// each client's delta is clipped to L2 norm C, the server sums the clipped deltas with equal
// weight, adds N(0, (z C)^2) per coordinate to the sum, and divides by the expected number of
// clients per round (the fixed-denominator estimator, whose sensitivity does not depend on who
// showed up) or, if none is configured, by the number that reported.
import { addInto } from './fedavg';
import { checkRunningSums, type RunningSums } from './partial-aggregate';
import { clipToNorm } from './validation';

/** Draws from the standard normal distribution. */
export type GaussianSource = () => number;

/** Client side: clip the delta to norm C before it leaves the device. */
export function clipUpdateForDp(delta: Float32Array, clipNorm: number): Float32Array {
	return clipToNorm(delta, clipNorm).delta;
}

/**
 * Standard normal draws from the platform CSPRNG (WebCrypto, in browsers and Node 20) by
 * Box-Muller. A Math.random() source would let an observer predict, and so remove, the noise.
 */
export function createSecureGaussian(): GaussianSource {
	const words = new Uint32Array(4);
	let spare: number | null = null;
	// 53 random bits in (0, 1]: 0 is excluded so log() stays finite.
	const uniform = (hi: number, lo: number): number => ((hi >>> 5) * 67108864 + (lo >>> 6) + 1) / 9007199254740992;
	return () => {
		if (spare !== null) {
			const s = spare;
			spare = null;
			return s;
		}
		globalThis.crypto.getRandomValues(words);
		const u1 = uniform(words[0], words[1]);
		const u2 = uniform(words[2], words[3]);
		const r = Math.sqrt(-2 * Math.log(u1));
		spare = r * Math.sin(2 * Math.PI * u2);
		return r * Math.cos(2 * Math.PI * u2);
	};
}

export interface DpFedAvgParams {
	/** C: the L2 bound every client delta is clipped to. */
	clipNorm: number;
	/** z: noise standard deviation in units of C. */
	noiseMultiplier: number;
	/** qW: the expected clients per round; absent means divide by the actual count. */
	expectedClients?: number;
}

/** Server side: equal-weight sum of clipped deltas; noise is added once, in finish(). */
export class DpFedAvgAccumulator {
	readonly length: number;
	private readonly sum: Float64Array;
	private _count = 0;
	readonly params: DpFedAvgParams;

	constructor(length: number, params: DpFedAvgParams) {
		this.length = length;
		this.params = params;
		this.sum = new Float64Array(length);
	}

	get count(): number {
		return this._count;
	}

	/** Clips again: the guarantee must not depend on clients having done it. */
	add(delta: Float32Array): void {
		if (delta.length !== this.length) throw new Error(`update has ${delta.length} values, expected ${this.length}`);
		const clipped = clipToNorm(delta, this.params.clipNorm).delta;
		for (let i = 0; i < this.length; i++) this.sum[i] += clipped[i];
		this._count++;
	}

	/** A copy of the running sums: sums [sum clip(delta_k)], scalars [C]. */
	snapshot(): RunningSums {
		return { count: this._count, sums: [this.sum.slice()], scalars: [this.params.clipNorm] };
	}

	/**
	 * Adds another accumulator's clipped sum. No noise is added here: the leader adds it once,
	 * in noisyMean(), and divides by expectedClients or the merged count.
	 */
	merge(other: RunningSums): void {
		checkRunningSums('dp-fedavg merge', other, { sums: 1, scalars: 1 }, this.length);
		// The noise is calibrated to this C; a sum clipped to another bound would void the guarantee.
		if (other.scalars[0] !== this.params.clipNorm) {
			throw new Error(`dp-fedavg merge: updates were clipped to ${other.scalars[0]}, expected ${this.params.clipNorm}`);
		}
		addInto(this.sum, other.sums[0]);
		this._count += other.count;
	}

	/** (sum + N(0, (zC)^2 I)) / denominator. */
	noisyMean(gaussian: GaussianSource): Float32Array {
		if (this._count === 0) throw new Error('no updates to aggregate');
		const std = this.params.noiseMultiplier * this.params.clipNorm;
		const denominator = this.params.expectedClients ?? this._count;
		const out = new Float32Array(this.length);
		for (let i = 0; i < out.length; i++) out[i] = (this.sum[i] + std * gaussian()) / denominator;
		return out;
	}
}
