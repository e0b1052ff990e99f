import type { ColumnScale, Standardization, TaskSchema } from '@qflare/protocol';
import type { LabelledData } from '@qflare/trainer';
import type { PreparedSplit } from './prepared-data';
import { encodedWidth, featureSlots } from './tabular-layout';

function scaleOf(standardization: Standardization, column: string): ColumnScale {
	const scale = standardization.columns[column];
	if (!scale) throw new Error(`the standardization has no statistics for the column ${JSON.stringify(column)}`);
	// The server sends std 1 for a constant column; guard anyway so scaling never divides by 0.
	return { mean: scale.mean, std: scale.std > 0 && Number.isFinite(scale.std) ? scale.std : 1 };
}

/** values[start + k*step] = (value - mean) / std for k < count, in place. */
function standardizeStrided(values: Float32Array, start: number, step: number, count: number, scale: ColumnScale): void {
	for (let k = 0, at = start; k < count; k++, at += step) values[at] = (values[at] - scale.mean) / scale.std;
}

/**
 * The scale of the value a regression or forecasting model predicts (the tabular target, or the
 * time series' target column): predictions times std plus mean are in the target's units.
 * Null for classification, and when there is no standardization (targets were not scaled).
 */
export function targetScale(task: TaskSchema, standardization: Standardization | null): ColumnScale | null {
	if (!standardization) return null;
	if (task.kind === 'time-series') return scaleOf(standardization, task.target);
	if (task.kind === 'tabular' && task.objective.type === 'regression') return scaleOf(standardization, task.target);
	return null;
}

/**
 * What the trainer consumes: numeric inputs standardised with the federated statistics,
 * (x - mean) / std — numeric tabular features by column (one-hot positions untouched), every
 * time-series position by its value column — and regression targets likewise. Images pass
 * through as pixels. A null standardization leaves values as they are. The split is not changed.
 */
export function toTrainingData(split: PreparedSplit, task: TaskSchema, standardization: Standardization | null): LabelledData {
	if (task.kind === 'image-classification' || !standardization) {
		return { count: split.count, images: split.inputs, labels: split.targets };
	}
	const inputs = Float32Array.from(split.inputs);
	let labels: Uint8Array | Float32Array = split.targets;
	if (task.kind === 'tabular') {
		const width = encodedWidth(task);
		for (const slot of featureSlots(task)) {
			if (slot.numeric) standardizeStrided(inputs, slot.offset, width, split.count, scaleOf(standardization, slot.name));
		}
		if (task.objective.type === 'regression') {
			labels = Float32Array.from(split.targets);
			standardizeStrided(labels, 0, 1, labels.length, scaleOf(standardization, task.target));
		}
	} else {
		const columns = task.valueColumns.length;
		task.valueColumns.forEach((name, v) => {
			standardizeStrided(inputs, v, columns, split.count * task.window, scaleOf(standardization, name));
		});
		labels = Float32Array.from(split.targets);
		standardizeStrided(labels, 0, 1, labels.length, scaleOf(standardization, task.target));
	}
	return { count: split.count, images: inputs, labels };
}
