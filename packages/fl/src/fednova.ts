// FedNova (Wang et al. 2020, "Tackling the Objective Inconsistency Problem in Heterogeneous
// Federated Optimization"), for local SGD: client i's delta is divided by its local steps
// tau_i, the normalised deltas are sample-weighted (p_i = n_i / n), and the result is scaled
// by tau_eff = sum p_i tau_i. Clients that ran more steps no longer drag the model their way.
// Streaming: sum n_i delta_i / tau_i and sum n_i tau_i are all it needs.
import { addInto } from './fedavg';
import { checkRunningSums, type RunningSums } from './partial-aggregate';

export class FedNovaAccumulator {
	readonly length: number;
	private readonly normalisedSum: Float64Array;
	private _count = 0;
	private totalSamples = 0;
	private weightedSteps = 0;

	constructor(length: number) {
		this.length = length;
		this.normalisedSum = new Float64Array(length);
	}

	get count(): number {
		return this._count;
	}

	add(delta: Float32Array, numSamples: number, steps: number): void {
		if (delta.length !== this.length) throw new Error(`update has ${delta.length} values, expected ${this.length}`);
		if (!(numSamples > 0) || !Number.isFinite(numSamples)) throw new Error(`numSamples must be positive, got ${numSamples}`);
		if (!(steps > 0) || !Number.isFinite(steps)) throw new Error(`FedNova needs the local step count (> 0), got ${steps}`);
		const w = numSamples / steps;
		for (let i = 0; i < this.length; i++) this.normalisedSum[i] += w * delta[i];
		this._count++;
		this.totalSamples += numSamples;
		this.weightedSteps += numSamples * steps;
	}

	/** A copy of the running sums: sums [sum n_i delta_i / tau_i], scalars [sum n_i, sum n_i tau_i]. */
	snapshot(): RunningSums {
		return { count: this._count, sums: [this.normalisedSum.slice()], scalars: [this.totalSamples, this.weightedSteps] };
	}

	/** Adds another accumulator's snapshot, as if its updates had been added here. */
	merge(other: RunningSums): void {
		checkRunningSums('fednova merge', other, { sums: 1, scalars: 2 }, this.length);
		const [samples, weightedSteps] = other.scalars;
		if ((other.count > 0) !== (samples > 0 && weightedSteps > 0)) {
			throw new Error(`fednova merge: ${other.count} updates with ${samples} samples and ${weightedSteps} weighted steps`);
		}
		addInto(this.normalisedSum, other.sums[0]);
		this._count += other.count;
		this.totalSamples += samples;
		this.weightedSteps += weightedSteps;
	}

	/** tau_eff * sum p_i delta_i / tau_i. */
	delta(): Float32Array {
		if (this._count === 0) throw new Error('no updates to aggregate');
		const n = this.totalSamples;
		const tauEff = this.weightedSteps / n;
		const out = new Float32Array(this.length);
		for (let i = 0; i < out.length; i++) out[i] = (tauEff * this.normalisedSum[i]) / n;
		return out;
	}
}
