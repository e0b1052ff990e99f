// Streaming FedAvg (McMahan et al. 2017): each update is folded in as it arrives, so memory
// is one Float64 vector of the model's length however many clients report.
import { checkRunningSums, type RunningSums } from './partial-aggregate';

function assertLength(delta: Float32Array, length: number): void {
	if (delta.length !== length) throw new Error(`update has ${delta.length} values, expected ${length}`);
}

/** Weighted running sum of deltas; mean() is sum / totalWeight. */
export class FedAvgAccumulator {
	readonly length: number;
	private readonly sum: Float64Array;
	private _count = 0;
	private _totalWeight = 0;

	constructor(length: number) {
		if (!Number.isInteger(length) || length < 0) throw new Error(`length must be a non-negative integer, got ${length}`);
		this.length = length;
		this.sum = new Float64Array(length);
	}

	get count(): number {
		return this._count;
	}

	get totalWeight(): number {
		return this._totalWeight;
	}

	add(delta: Float32Array, weight: number): void {
		assertLength(delta, this.length);
		if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`weight must be a positive finite number, got ${weight}`);
		const sum = this.sum;
		for (let i = 0; i < sum.length; i++) sum[i] += weight * delta[i];
		this._count++;
		this._totalWeight += weight;
	}

	/** The weighted sum itself, for strategies that normalise differently (DP-FedAvg). */
	weightedSum(): Float64Array {
		return this.sum.slice();
	}

	/** A copy of the running sums: sums [sum w_k delta_k], scalars [sum w_k]. */
	snapshot(): RunningSums {
		return { count: this._count, sums: [this.sum.slice()], scalars: [this._totalWeight] };
	}

	/** Adds another accumulator's snapshot, as if its updates had been added here. */
	merge(other: RunningSums): void {
		checkRunningSums('fedavg merge', other, { sums: 1, scalars: 1 }, this.length);
		const [weight] = other.scalars;
		if ((other.count > 0) !== (weight > 0)) throw new Error(`fedavg merge: ${other.count} updates with total weight ${weight}`);
		addInto(this.sum, other.sums[0]);
		this._count += other.count;
		this._totalWeight += weight;
	}

	mean(): Float32Array {
		if (this._count === 0) throw new Error('no updates to average');
		const out = new Float32Array(this.length);
		const total = this._totalWeight;
		for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / total;
		return out;
	}
}

/** target += source, elementwise; the caller has checked the lengths. */
export function addInto(target: Float64Array, source: Float64Array): void {
	for (let i = 0; i < target.length; i++) target[i] += source[i];
}

/** global + scale * delta, as a new array. */
export function applyDelta(global: Float32Array, delta: Float32Array, scale = 1): Float32Array {
	assertLength(delta, global.length);
	const out = new Float32Array(global.length);
	for (let i = 0; i < out.length; i++) out[i] = global[i] + scale * delta[i];
	return out;
}

/** One-shot FedAvg over a list of weighted deltas. */
export function aggregateFedAvg(updates: readonly { delta: Float32Array; weight: number }[]): Float32Array {
	if (updates.length === 0) throw new Error('no updates to average');
	const acc = new FedAvgAccumulator(updates[0].delta.length);
	for (const u of updates) acc.add(u.delta, u.weight);
	return acc.mean();
}
