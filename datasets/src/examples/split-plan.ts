import { dirichletPartition, iidPartition } from '@qflare/fl';
import { formatPartitionSpec, type PartitionPlan } from '../partition-spec';

// Which rows (or images) each participant gets. Pure: the caller reads and writes the files.

/** `parts` runs of consecutive indices whose sizes differ by at most one, earlier runs first. */
export function contiguousSegments(count: number, parts: number): number[][] {
	if (!Number.isInteger(parts) || parts < 1) throw new Error('participants must be a positive integer');
	const base = Math.floor(count / parts);
	const extra = count % parts;
	const segments: number[][] = [];
	let start = 0;
	for (let p = 0; p < parts; p++) {
		const size = base + (p < extra ? 1 : 0);
		segments.push(Array.from({ length: size }, (_, i) => start + i));
		start += size;
	}
	return segments;
}

/**
 * Bin index (0..bins-1) of each value by rank: equal-count bins, ties broken by position, so a
 * regression target can drive a label-skewed (Dirichlet) split.
 */
export function quantileBins(values: readonly number[], bins: number): number[] {
	if (!Number.isInteger(bins) || bins < 1) throw new Error('bins must be a positive integer');
	const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
	const out = new Array<number>(values.length);
	order.forEach(([, i], rank) => (out[i] = Math.floor((rank * bins) / values.length)));
	return out;
}

/** Bins a regression target uses for a Dirichlet split. */
export const REGRESSION_BINS = 5;

export type SplitSource =
	| { kind: 'classification'; labels: readonly number[]; numClasses: number }
	| { kind: 'regression'; targets: readonly number[] }
	| { kind: 'time-series'; count: number };

/** Index lists, one per participant; every index lands in exactly one, and the seed fixes them. */
export function planSplit(source: SplitSource, participants: number, plan: PartitionPlan, seed: number): number[][] {
	if (source.kind === 'time-series') {
		if (plan !== 'iid') {
			throw new Error(`a time series is split into consecutive periods; partition ${formatPartitionSpec(plan)} needs labels, use iid`);
		}
		return contiguousSegments(source.count, participants);
	}
	const count = source.kind === 'classification' ? source.labels.length : source.targets.length;
	if (plan === 'iid') return iidPartition(count, participants, seed);
	return source.kind === 'classification'
		? dirichletPartition(source.labels, source.numClasses, participants, plan.dirichletAlpha, seed)
		: dirichletPartition(quantileBins(source.targets, REGRESSION_BINS), REGRESSION_BINS, participants, plan.dirichletAlpha, seed);
}

/** How planSplit divides each kind of data, for the split manifest. */
export function splitMethod(source: SplitSource['kind'], plan: PartitionPlan): string {
	if (source === 'time-series') return 'consecutive periods of equal length (time order kept)';
	if (plan === 'iid') return 'iid: shuffled by seed, cut into equal parts (packages/fl iidPartition)';
	const by = source === 'classification' ? 'class' : `${REGRESSION_BINS} equal-count bins of the target`;
	return `label skew: Dirichlet(${plan.dirichletAlpha}) shares per ${by} (packages/fl dirichletPartition)`;
}
