// Performance-weighted FedAvg: weight_k = alpha * n_k / sum n + (1 - alpha) * acc_k / sum acc.
// The weights are linear in n_k and acc_k, so two running sums (sum n_k delta_k and
// sum acc_k delta_k) give the result without keeping the updates.
import { addInto } from './fedavg';
import { checkRunningSums, type RunningSums } from './partial-aggregate';

/** The per-client weights, for reports and tests; they sum to 1. */
export function perfFedAvgWeights(clients: readonly { numSamples: number; valAccuracy: number }[], alpha: number): number[] {
	const totalSamples = clients.reduce((s, c) => s + c.numSamples, 0);
	const totalAccuracy = clients.reduce((s, c) => s + c.valAccuracy, 0);
	return clients.map(
		(c) => alpha * (c.numSamples / totalSamples) + (1 - alpha) * accuracyShare(c, totalAccuracy, totalSamples)
	);
}

// With every accuracy 0 the accuracy term has no information; fall back to the sample share
// so the weights still sum to 1.
function accuracyShare(c: { numSamples: number; valAccuracy: number }, totalAccuracy: number, totalSamples: number): number {
	return totalAccuracy > 0 ? c.valAccuracy / totalAccuracy : c.numSamples / totalSamples;
}

export class PerfFedAvgAccumulator {
	readonly length: number;
	private readonly sampleSum: Float64Array;
	private readonly accuracySum: Float64Array;
	private _count = 0;
	private totalSamples = 0;
	private totalAccuracy = 0;
	readonly alpha: number;

	constructor(length: number, alpha: number) {
		if (!(alpha >= 0 && alpha <= 1)) throw new Error(`alpha must be in [0, 1], got ${alpha}`);
		this.length = length;
		this.alpha = alpha;
		this.sampleSum = new Float64Array(length);
		this.accuracySum = new Float64Array(length);
	}

	get count(): number {
		return this._count;
	}

	add(delta: Float32Array, numSamples: number, valAccuracy: number): void {
		if (delta.length !== this.length) throw new Error(`update has ${delta.length} values, expected ${this.length}`);
		if (!(numSamples > 0) || !Number.isFinite(numSamples)) throw new Error(`numSamples must be positive, got ${numSamples}`);
		if (!(valAccuracy >= 0 && valAccuracy <= 1)) throw new Error(`valAccuracy must be in [0, 1], got ${valAccuracy}`);
		for (let i = 0; i < this.length; i++) {
			this.sampleSum[i] += numSamples * delta[i];
			this.accuracySum[i] += valAccuracy * delta[i];
		}
		this._count++;
		this.totalSamples += numSamples;
		this.totalAccuracy += valAccuracy;
	}

	/** A copy of the running sums: sums [sum n_k delta_k, sum acc_k delta_k], scalars [sum n_k, sum acc_k]. */
	snapshot(): RunningSums {
		return {
			count: this._count,
			sums: [this.sampleSum.slice(), this.accuracySum.slice()],
			scalars: [this.totalSamples, this.totalAccuracy]
		};
	}

	/** Adds another accumulator's snapshot, as if its updates had been added here. */
	merge(other: RunningSums): void {
		checkRunningSums('perffedavg merge', other, { sums: 2, scalars: 2 }, this.length);
		const [samples, accuracy] = other.scalars;
		// Each accuracy is in [0, 1], so their sum is at most the count.
		if ((other.count > 0) !== (samples > 0) || accuracy > other.count) {
			throw new Error(`perffedavg merge: ${other.count} updates with ${samples} samples and accuracy sum ${accuracy}`);
		}
		addInto(this.sampleSum, other.sums[0]);
		addInto(this.accuracySum, other.sums[1]);
		this._count += other.count;
		this.totalSamples += samples;
		this.totalAccuracy += accuracy;
	}

	mean(): Float32Array {
		if (this._count === 0) throw new Error('no updates to aggregate');
		const a = this.alpha;
		const accSum = this.totalAccuracy > 0 ? this.accuracySum : this.sampleSum;
		const accTotal = this.totalAccuracy > 0 ? this.totalAccuracy : this.totalSamples;
		const out = new Float32Array(this.length);
		for (let i = 0; i < out.length; i++) {
			out[i] = (a * this.sampleSum[i]) / this.totalSamples + ((1 - a) * accSum[i]) / accTotal;
		}
		return out;
	}
}
