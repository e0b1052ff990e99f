// FedNova (Wang et al. 2020, "Tackling the Objective Inconsistency Problem in Heterogeneous
// Federated Optimization"), for local SGD: client i's delta is divided by its local steps
// tau_i, the normalised deltas are sample-weighted (p_i = n_i / n), and the result is scaled
// by tau_eff = sum p_i tau_i. Clients that ran more steps no longer drag the model their way.
// Streaming: sum n_i delta_i / tau_i and sum n_i tau_i are all it needs.

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
