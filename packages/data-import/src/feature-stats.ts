import type { ColumnSums, FeatureStatsReport, TabularTask } from '@qflare/protocol';
import { featureSlots, encodedWidth } from './tabular-layout';

/** Count, sum and sum of squares of values[start], values[start + step], ... (count of them), summed in float64. */
export function columnSums(values: ArrayLike<number>, start: number, step: number, count: number): ColumnSums {
	let sum = 0;
	let sumSquares = 0;
	for (let i = 0, at = start; i < count; i++, at += step) {
		const v = values[at];
		sum += v;
		sumSquares += v * v;
	}
	return { count, sum, sumSquares };
}

/** Sums of every numeric feature (and the target, for regression) over the rows of a training split. */
export function tabularStats(task: TabularTask, inputs: Float32Array, targets: Uint8Array | Float32Array, count: number): FeatureStatsReport {
	const width = encodedWidth(task);
	const columns: Record<string, ColumnSums> = {};
	for (const slot of featureSlots(task)) {
		if (slot.numeric) columns[slot.name] = columnSums(inputs, slot.offset, width, count);
	}
	if (task.objective.type === 'regression') columns[task.target] = columnSums(targets, 0, 1, count);
	return { columns };
}
