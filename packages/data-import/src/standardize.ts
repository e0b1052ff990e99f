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
 * Model inputs as training sees them: numeric values standardised with the federated statistics,
 * (x - mean) / std — numeric tabular features by column (one-hot positions untouched), every
 * time-series position by its value column. Images pass through as pixels, and a null
 * standardization leaves values as they are. `inputs` is not changed. Used for training,
 * hold-out evaluation and predictions alike, so all three scale the same way.
 */
export function toModelInputs(inputs: Uint8Array | Float32Array, count: number, task: TaskSchema, standardization: Standardization | null): Uint8Array | Float32Array {
	if (task.kind === 'image-classification' || !standardization) return inputs;
	const scaled = Float32Array.from(inputs);
	if (task.kind === 'tabular') {
		const width = encodedWidth(task);
		for (const slot of featureSlots(task)) {
			if (slot.numeric) standardizeStrided(scaled, slot.offset, width, count, scaleOf(standardization, slot.name));
		}
	} else {
		const columns = task.valueColumns.length;
		task.valueColumns.forEach((name, v) => {
			standardizeStrided(scaled, v, columns, count * task.window, scaleOf(standardization, name));
		});
	}
	return scaled;
}

/** The column of encoded input position `index` and where it sits, for tabular rows and time-series windows. */
function inputPlace(task: TaskSchema, index: number): { column: string; place: string } | null {
	if (task.kind === 'tabular') {
		const width = encodedWidth(task);
		const slot = featureSlots(task).find((s) => index % width >= s.offset && index % width < s.offset + s.width);
		return slot ? { column: slot.name, place: `row ${Math.floor(index / width) + 1}, feature ${JSON.stringify(slot.name)}` } : null;
	}
	if (task.kind === 'time-series') {
		const values = task.valueColumns.length;
		const column = task.valueColumns[index % values];
		const window = Math.floor(index / (task.window * values));
		const row = Math.floor((index % (task.window * values)) / values);
		return { column, place: `window ${window + 1}, row ${row + 1}, column ${JSON.stringify(column)}` };
	}
	return null;
}

/**
 * Inputs to a prediction that scaling pushed out of float32: a raw value within range can still
 * leave it when standardised ((x - mean) / std with a small std), and the model would be fed
 * Infinity. One sentence per value (at most 20), naming where it is; empty when all are finite.
 * `raw` and `scaled` are toModelInputs' input and output.
 */
export function unscalableInputs(raw: Uint8Array | Float32Array, scaled: Uint8Array | Float32Array, task: TaskSchema, standardization: Standardization | null): string[] {
	if (!(scaled instanceof Float32Array) || standardization === null) return [];
	const problems: string[] = [];
	for (let i = 0; i < scaled.length && problems.length < 20; i++) {
		if (Number.isFinite(scaled[i])) continue;
		const where = inputPlace(task, i);
		const scale: ColumnScale | undefined = where ? standardization.columns[where.column] : undefined;
		const value = String(Number(raw[i].toPrecision(6)));
		problems.push(
			where && scale
				? `${where.place}: ${value} is too far from the mean the model was trained with (${scale.mean}, std ${scale.std}) to be scaled`
				: `input value ${value} at position ${i + 1} cannot be scaled`
		);
	}
	return problems;
}

/**
 * What the trainer consumes: inputs as toModelInputs scales them, and regression targets (the
 * tabular target, or the time series' target column) standardised likewise; class indices stay.
 * The split is not changed.
 */
export function toTrainingData(split: PreparedSplit, task: TaskSchema, standardization: Standardization | null): LabelledData {
	const images = toModelInputs(split.inputs, split.count, task, standardization);
	const scale = targetScale(task, standardization);
	if (!scale) return { count: split.count, images, labels: split.targets };
	const labels = Float32Array.from(split.targets);
	standardizeStrided(labels, 0, 1, labels.length, scale);
	return { count: split.count, images, labels };
}
