// Streaming FedAvg (McMahan et al. 2017): each update is folded in as it arrives, so memory
// is one Float64 vector of the model's length however many clients report.

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

	mean(): Float32Array {
		if (this._count === 0) throw new Error('no updates to average');
		const out = new Float32Array(this.length);
		const total = this._totalWeight;
		for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / total;
		return out;
	}
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
