import { labelHistogram } from '@qflare/fl';
import type { FeatureColumn, TabularTask } from '@qflare/protocol';
import { cellPlace, readNumber } from './cell-values';
import { locateColumns, tableSummary, type CsvTable } from './csv-table';
import { DataImportError, ProblemList, listChoices, quoteValue } from './errors';
import { tabularStats } from './feature-stats';
import { splitIndices, type SplitOptions } from './hold-out';
import type { PreparedData, PreparedSplit } from './prepared-data';
import { encodedWidth, featureSlots } from './tabular-layout';

/** Lookup from a categorical value (or class name) to its index, built once per file. */
function indexOf(values: readonly string[]): Map<string, number> {
	return new Map(values.map((v, i) => [v, i]));
}

function caseHint(value: string, choices: readonly string[]): string {
	const match = choices.find((c) => c.toLowerCase() === value.toLowerCase());
	return match ? ` (did you mean ${JSON.stringify(match)}? values are case-sensitive)` : '';
}

interface FeatureEncoder {
	feature: FeatureColumn;
	offset: number;
	vocabulary: Map<string, number> | null;
}

function featureEncoders(task: TabularTask): FeatureEncoder[] {
	const slots = featureSlots(task);
	return task.features.map((feature, i) => ({
		feature,
		offset: slots[i].offset,
		vocabulary: feature.type === 'categorical' ? indexOf(feature.values) : null
	}));
}

/** Writes one feature of one row at out[base + offset]: the number, or a 1 in the category's one-hot slot. */
function encodeFeature(encoder: FeatureEncoder, cell: string | number, place: () => string, problems: ProblemList, out: Float32Array, base: number): void {
	const { feature, offset, vocabulary } = encoder;
	const text = typeof cell === 'number' ? String(cell) : cell;
	if (feature.type === 'numeric' || vocabulary === null) {
		out[base + offset] = readNumber(text, place, problems);
		return;
	}
	const value = text.trim();
	const index = vocabulary.get(value);
	if (index !== undefined) {
		out[base + offset + index] = 1;
		return;
	}
	const where = place();
	if (value === '') problems.add(`${where} is empty: expected one of ${listChoices(feature.values)}`);
	else problems.add(`${where}: ${quoteValue(value)} is not one of the values ${listChoices(feature.values)}${caseHint(value, feature.values)}`);
}

function gather(inputs: Float32Array, targets: Uint8Array | Float32Array, width: number, rows: Uint32Array): PreparedSplit {
	const x = new Float32Array(rows.length * width);
	const y = targets instanceof Uint8Array ? new Uint8Array(rows.length) : new Float32Array(rows.length);
	rows.forEach((row, i) => {
		x.set(inputs.subarray(row * width, (row + 1) * width), i * width);
		y[i] = targets[row];
	});
	return { count: rows.length, inputs: x, targets: y };
}

/**
 * Encodes a tabular CSV: inputs are the features in schema order (numbers as given, categoricals
 * one-hot), targets the class index or the numeric value. Every cell is checked; all problems are
 * reported together. The hold-out rows are drawn by seed.
 */
export function prepareTabular(table: CsvTable, task: TabularTask, split: SplitOptions): PreparedData {
	const problems = new ProblemList();
	const columns = locateColumns(table, [...task.features.map((f) => f.name), task.target], problems);
	problems.throwIfAny();

	const width = encodedWidth(task);
	const count = table.rows.length;
	const inputs = new Float32Array(count * width);
	const encoders = featureEncoders(task);
	const featureColumns = encoders.map((e) => columns.get(e.feature.name) as number);
	const targetColumn = columns.get(task.target) as number;
	const objective = task.objective;
	const classes = objective.type === 'classification' ? indexOf(objective.classes) : null;
	const targets = classes ? new Uint8Array(count) : new Float32Array(count);

	for (let r = 0; r < count; r++) {
		const row = table.rows[r];
		const rowNumber = table.rowNumbers[r];
		encoders.forEach((encoder, f) => {
			encodeFeature(encoder, row[featureColumns[f]], () => cellPlace(table.fileName, rowNumber, encoder.feature.name), problems, inputs, r * width);
		});
		const cell = row[targetColumn];
		const place = () => cellPlace(table.fileName, rowNumber, task.target);
		if (classes && objective.type === 'classification') {
			const label = cell.trim();
			const index = classes.get(label);
			if (index !== undefined) targets[r] = index;
			else if (label === '') problems.add(`${place()} is empty: expected a class, one of ${listChoices(objective.classes)}`);
			else problems.add(`${place()}: the label ${quoteValue(label)} is not one of the classes ${listChoices(objective.classes)}${caseHint(label, objective.classes)}`);
		} else {
			targets[r] = readNumber(cell, place, problems);
		}
	}
	problems.throwIfAny();

	const { train: trainRows, holdOut: holdOutRows } = splitIndices(count, split);
	const train = gather(inputs, targets, width, trainRows);
	const holdOut = holdOutRows.length > 0 ? gather(inputs, targets, width, holdOutRows) : null;
	return {
		task,
		train,
		holdOut,
		stats: tabularStats(task, train.inputs as Float32Array, train.targets, train.count),
		labelHistogram: objective.type === 'classification' ? labelHistogram(targets, trainRows, objective.classes.length) : null,
		summary: tableSummary(table, train, holdOut)
	};
}

/**
 * Encodes rows given as objects (the predict endpoint, "Try the model") exactly as prepareTabular
 * encodes a CSV: raw values, categoricals one-hot. The target may be present and is ignored; any
 * other unknown key is a problem.
 */
export function encodeRows(rows: Record<string, string | number>[], task: TabularTask): Float32Array {
	if (rows.length === 0) throw new DataImportError(['no rows to encode']);
	const width = encodedWidth(task);
	const out = new Float32Array(rows.length * width);
	const encoders = featureEncoders(task);
	const known = new Set([...task.features.map((f) => f.name), task.target]);
	const problems = new ProblemList();
	rows.forEach((row, r) => {
		for (const key of Object.keys(row)) {
			if (!known.has(key)) problems.add(`row ${r + 1}: ${JSON.stringify(key)} is not a feature of this task (expected ${listChoices(task.features.map((f) => f.name))})`);
		}
		for (const encoder of encoders) {
			const place = () => `row ${r + 1}, feature ${JSON.stringify(encoder.feature.name)}`;
			const cell = Object.hasOwn(row, encoder.feature.name) ? row[encoder.feature.name] : undefined;
			if (cell === undefined) problems.add(`${place()} is missing`);
			else encodeFeature(encoder, cell, place, problems, out, r * width);
		}
	});
	problems.throwIfAny();
	return out;
}
