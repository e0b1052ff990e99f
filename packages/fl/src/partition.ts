import { createRng, shuffleInPlace, type Rng } from './random';

// Splits of a dataset's indices across simulated devices. Every index lands in exactly one
// shard and a seed fixes the result, so a simulation can be re-run shard for shard.

function checkShardCount(shardCount: number): void {
	if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error('shardCount must be a positive integer');
}

function range(count: number): number[] {
	return Array.from({ length: count }, (_, i) => i);
}

/** Shuffle, then cut into shardCount runs whose sizes differ by at most one. */
export function iidPartition(count: number, shardCount: number, seed: number): number[][] {
	if (!Number.isInteger(count) || count < 0) throw new Error('count must be a non-negative integer');
	checkShardCount(shardCount);
	const order = shuffleInPlace(range(count), createRng(seed));
	const base = Math.floor(count / shardCount);
	const extra = count % shardCount;
	const shards: number[][] = [];
	let start = 0;
	for (let s = 0; s < shardCount; s++) {
		const size = base + (s < extra ? 1 : 0);
		shards.push(order.slice(start, start + size));
		start += size;
	}
	return shards;
}

/** Dirichlet(alpha, ..., alpha) draw over k outcomes. */
function dirichlet(k: number, alpha: number, rng: Rng): number[] {
	const draws = Array.from({ length: k }, () => rng.gamma(alpha));
	const total = draws.reduce((a, b) => a + b, 0);
	if (!(total > 0) || !Number.isFinite(total)) {
		// Tiny alpha can underflow every draw to 0: the limit is all mass on one outcome.
		const one = new Array<number>(k).fill(0);
		one[rng.int(k)] = 1;
		return one;
	}
	return draws.map((d) => d / total);
}

/** Integer counts summing exactly to n, proportional to p (largest remainder). */
function apportion(n: number, p: number[]): number[] {
	const exact = p.map((q) => q * n);
	const counts = exact.map(Math.floor);
	let left = n - counts.reduce((a, b) => a + b, 0);
	const byRemainder = range(p.length).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
	for (let i = 0; left > 0; i = (i + 1) % p.length, left--) counts[byRemainder[i]]++;
	return counts;
}

/**
 * Label-skewed split (Hsu et al. 2019): each class is divided among shards by its own
 * Dirichlet(alpha) proportions. Small alpha concentrates a class on few shards; large
 * alpha approaches IID. Shards can be small or empty when alpha is small.
 */
export function dirichletPartition(
	labels: ArrayLike<number>,
	numClasses: number,
	shardCount: number,
	alpha: number,
	seed: number
): number[][] {
	if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error('numClasses must be a positive integer');
	checkShardCount(shardCount);
	if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error('alpha must be a positive finite number');
	const byClass: number[][] = Array.from({ length: numClasses }, () => []);
	for (let i = 0; i < labels.length; i++) {
		const label = labels[i];
		if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
			throw new Error(`label ${label} at index ${i} is outside 0..${numClasses - 1}`);
		}
		byClass[label].push(i);
	}
	const rng = createRng(seed);
	const shards: number[][] = Array.from({ length: shardCount }, () => []);
	for (const members of byClass) {
		shuffleInPlace(members, rng);
		const counts = apportion(members.length, dirichlet(shardCount, alpha, rng));
		let start = 0;
		for (let s = 0; s < shardCount; s++) {
			for (let j = start; j < start + counts[s]; j++) shards[s].push(members[j]);
			start += counts[s];
		}
	}
	// Otherwise each shard would be ordered by class, which biases mini-batches.
	for (const shard of shards) shuffleInPlace(shard, rng);
	return shards;
}

/** How many of the selected examples carry each label. */
export function labelHistogram(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses: number): number[] {
	const histogram = new Array<number>(numClasses).fill(0);
	for (let i = 0; i < indices.length; i++) {
		const label = labels[indices[i]];
		if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
			throw new Error(`label ${label} at index ${indices[i]} is outside 0..${numClasses - 1}`);
		}
		histogram[label]++;
	}
	return histogram;
}
