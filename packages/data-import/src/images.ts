import { labelHistogram } from '@qflare/fl';
import type { ImageClassificationTask } from '@qflare/protocol';
import { DataImportError, ProblemList, listChoices, quoteValue } from './errors';
import { splitIndices, type SplitOptions } from './hold-out';
import type { PreparedData, PreparedSplit } from './prepared-data';

/** One decoded image: pixels already width x height x channels (HWC, 0..255). */
export interface ImageEntry {
	name: string;
	label: string;
	pixels: Uint8Array;
}

export interface ImageSourceInfo {
	/** The picked folder, for the summary. */
	source?: string;
	/** Files left out, with reasons (skippedImageFiles). */
	skipped?: string[];
}

/**
 * Checks decoded images against the task (label among the classes, pixel count) and packs them:
 * inputs count x height x width x channels, targets class indices; hold-out drawn by seed.
 * Images carry no numeric columns to standardise, so the statistics are empty.
 */
export function prepareImages(entries: ImageEntry[], task: ImageClassificationTask, split: SplitOptions, info: ImageSourceInfo = {}): PreparedData {
	if (entries.length === 0) throw new DataImportError(['no images to import']);
	const size = task.width * task.height * task.channels;
	const classIndex = new Map(task.classes.map((c, i) => [c, i]));
	const problems = new ProblemList();
	const labels = new Uint8Array(entries.length);
	entries.forEach((entry, i) => {
		const index = classIndex.get(entry.label.trim());
		if (index === undefined) problems.add(`${entry.name}: the label ${quoteValue(entry.label)} is not one of the classes ${listChoices(task.classes)}`);
		else labels[i] = index;
		if (entry.pixels.length !== size) {
			problems.add(`${entry.name} has ${entry.pixels.length} pixel values; the task needs ${task.width} x ${task.height} x ${task.channels} = ${size}`);
		}
	});
	problems.throwIfAny();

	const pack = (rows: Uint32Array): PreparedSplit => {
		const inputs = new Uint8Array(rows.length * size);
		const targets = new Uint8Array(rows.length);
		rows.forEach((row, i) => {
			inputs.set(entries[row].pixels, i * size);
			targets[i] = labels[row];
		});
		return { count: rows.length, inputs, targets };
	};
	const { train: trainRows, holdOut: holdOutRows } = splitIndices(entries.length, split);
	const train = pack(trainRows);
	const holdOut = holdOutRows.length > 0 ? pack(holdOutRows) : null;
	return {
		task,
		train,
		holdOut,
		stats: { columns: {} },
		labelHistogram: labelHistogram(labels, trainRows, task.classes.length),
		summary: {
			source: info.source ?? 'the picked images',
			rows: entries.length,
			columns: [],
			preview: entries.slice(0, 5).map((e) => [e.name, e.label.trim()]),
			trainCount: train.count,
			holdOutCount: holdOut?.count ?? 0,
			gapWindows: 0,
			skipped: info.skipped ?? []
		}
	};
}
