// Byzantine-robust aggregation rules. Each needs all of the round's deltas at once, so
// strategies built on them keep the updates (keepsUpdates = true).
import { squaredDistance } from './validation';

function assertSameLength(deltas: readonly Float32Array[]): number {
	if (deltas.length === 0) throw new Error('no updates to aggregate');
	const length = deltas[0].length;
	for (const d of deltas) if (d.length !== length) throw new Error(`update has ${d.length} values, expected ${length}`);
	return length;
}

/** Coordinate-wise median; with an even count, the mean of the two middle values. */
export function coordinateMedian(deltas: readonly Float32Array[]): Float32Array {
	const length = assertSameLength(deltas);
	const n = deltas.length;
	const column = new Float64Array(n);
	const out = new Float32Array(length);
	for (let i = 0; i < length; i++) {
		for (let k = 0; k < n; k++) column[k] = deltas[k][i];
		column.sort();
		const mid = n >> 1;
		out[i] = n % 2 === 1 ? column[mid] : (column[mid - 1] + column[mid]) / 2;
	}
	return out;
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate drop the floor(beta * n)
 * largest and smallest values and average the rest.
 */
export function trimmedMean(deltas: readonly Float32Array[], trimFraction: number): Float32Array {
	if (!(trimFraction >= 0 && trimFraction < 0.5)) throw new Error(`trim fraction must be in [0, 0.5), got ${trimFraction}`);
	const length = assertSameLength(deltas);
	const n = deltas.length;
	const k = Math.floor(trimFraction * n);
	const column = new Float64Array(n);
	const out = new Float32Array(length);
	for (let i = 0; i < length; i++) {
		for (let j = 0; j < n; j++) column[j] = deltas[j][i];
		column.sort();
		let sum = 0;
		for (let j = k; j < n - k; j++) sum += column[j];
		out[i] = sum / (n - 2 * k);
	}
	return out;
}

/**
 * Krum scores (Blanchard et al. 2017): for each update, the sum of squared distances to its
 * n - f - 2 nearest other updates. Needs n > 2f + 2.
 */
export function krumScores(deltas: readonly Float32Array[], byzantine: number): number[] {
	assertSameLength(deltas);
	const n = deltas.length;
	if (!Number.isInteger(byzantine) || byzantine < 0) throw new Error(`f must be a non-negative integer, got ${byzantine}`);
	if (n <= 2 * byzantine + 2) throw new Error(`Krum needs n > 2f + 2 updates: n = ${n}, f = ${byzantine}`);
	const dist: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
	for (let a = 0; a < n; a++) {
		for (let b = a + 1; b < n; b++) {
			const d = squaredDistance(deltas[a], deltas[b]);
			dist[a][b] = d;
			dist[b][a] = d;
		}
	}
	const neighbours = n - byzantine - 2;
	return dist.map((row, a) => {
		const others = row.filter((_, b) => b !== a).sort((x, y) => x - y);
		let score = 0;
		for (let j = 0; j < neighbours; j++) score += others[j];
		return score;
	});
}

/** Indices of the m lowest Krum scores, best first; ties go to the earlier update. */
export function krumSelect(deltas: readonly Float32Array[], byzantine: number, selected = 1): number[] {
	const scores = krumScores(deltas, byzantine);
	if (!Number.isInteger(selected) || selected < 1 || selected > deltas.length - byzantine) {
		throw new Error(`Multi-Krum selects m in [1, n - f]: m = ${selected}, n = ${deltas.length}, f = ${byzantine}`);
	}
	const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
	return order.slice(0, selected);
}

/** Krum (m = 1) or Multi-Krum: the plain mean of the m selected updates (El Mhamdi et al. 2018). */
export function multiKrum(deltas: readonly Float32Array[], byzantine: number, selected = 1): Float32Array {
	const chosen = krumSelect(deltas, byzantine, selected);
	const out = new Float32Array(deltas[0].length);
	const sum = new Float64Array(out.length);
	for (const k of chosen) {
		const d = deltas[k];
		for (let i = 0; i < sum.length; i++) sum[i] += d[i];
	}
	for (let i = 0; i < out.length; i++) out[i] = sum[i] / chosen.length;
	return out;
}
