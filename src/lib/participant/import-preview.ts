import { taskObjective, type TaskSchema } from '@qflare/protocol';
import { preparedByteLength, type PreparedData } from '@qflare/data-import';
import { exampleWindow } from './example-window';

/** One small image of the imported set, HWC pixels as prepared (0..255). */
export interface Thumbnail {
	label: string;
	width: number;
	height: number;
	channels: 1 | 3;
	pixels: Uint8Array;
}

/** What the participant page shows about imported data; it stays on the device with the data. */
export interface ImportPreview {
	kind: 'csv' | 'images';
	/** The file or folder picked. */
	source: string;
	/** Rows of the CSV, or images read. */
	rows: number;
	/** The CSV header ([] for images). */
	columns: string[];
	/** The first rows as text (images: file and label). */
	firstRows: string[][];
	/** What one training sample is: a row, an image, or a time-series window. */
	sampleUnit: 'rows' | 'images' | 'windows';
	/** Samples for training and held out for federated evaluation. */
	trainCount: number;
	holdOutCount: number;
	/** Time series: windows dropped between training and hold-out so they share no row. */
	gapWindows: number;
	/** Files left out, with the reason. */
	skipped: string[];
	/** Classification: training samples per class (the hold-out is not counted), as the dashboard shows them; null otherwise. */
	labelHistogram: number[] | null;
	classes: string[] | null;
	thumbnails: Thumbnail[];
	/** Bytes the prepared tensors take in the browser's storage. */
	bytes: number;
}

/**
 * What the page reads about imported data, stored beside it (local-db): small, so showing the
 * page never loads the data itself.
 */
export interface StoredPreview {
	preview: ImportPreview;
	/** ISO time of the import. */
	importedAt: string;
	/** The task the data was prepared for: the example fits "Try the model" only while it is the project's. */
	task: TaskSchema;
	/** Time series: the window "Try the model" starts from (raw values, rows x value columns); null otherwise. */
	example: number[][] | null;
}

export function storedPreview(data: PreparedData, preview: ImportPreview, importedAt: string): StoredPreview {
	const { task } = data;
	return { preview, importedAt, task, example: task.kind === 'time-series' ? exampleWindow(data, task) : null };
}

export const MAX_THUMBNAILS = 8;

/**
 * Up to `max` training images for the preview, one class after another (the first image of
 * each class, then the second of each, ...), so a glance shows every class.
 */
export function pickThumbnails(data: PreparedData, max = MAX_THUMBNAILS): Thumbnail[] {
	const task = data.task;
	if (task.kind !== 'image-classification') return [];
	const { train } = data;
	const size = task.width * task.height * task.channels;
	const byClass: number[][] = task.classes.map(() => []);
	for (let i = 0; i < train.count; i++) {
		const label = train.targets[i];
		if (byClass[label] && byClass[label].length < max) byClass[label].push(i);
	}
	const rows: number[] = [];
	for (let round = 0; rows.length < max; round++) {
		const before = rows.length;
		for (const list of byClass) if (round < list.length && rows.length < max) rows.push(list[round]);
		if (rows.length === before) break;
	}
	return rows.map((row) => ({
		label: task.classes[train.targets[row]],
		width: task.width,
		height: task.height,
		channels: task.channels,
		pixels: (train.inputs as Uint8Array).slice(row * size, (row + 1) * size)
	}));
}

export function buildPreview(data: PreparedData): ImportPreview {
	const { summary, task } = data;
	return {
		kind: task.kind === 'image-classification' ? 'images' : 'csv',
		source: summary.source,
		rows: summary.rows,
		columns: summary.columns,
		firstRows: summary.preview,
		sampleUnit: task.kind === 'image-classification' ? 'images' : task.kind === 'time-series' ? 'windows' : 'rows',
		trainCount: summary.trainCount,
		holdOutCount: summary.holdOutCount,
		gapWindows: summary.gapWindows,
		skipped: summary.skipped,
		labelHistogram: data.labelHistogram,
		classes: classNames(task),
		thumbnails: pickThumbnails(data),
		bytes: preparedByteLength(data)
	};
}

export function classNames(task: TaskSchema): string[] | null {
	const objective = taskObjective(task);
	return objective.type === 'classification' ? objective.classes : null;
}

/** RGBA for a canvas' ImageData: gray repeated into R, G and B; opaque. */
export function thumbnailRgba(t: Pick<Thumbnail, 'width' | 'height' | 'channels' | 'pixels'>): Uint8ClampedArray<ArrayBuffer> {
	const n = t.width * t.height;
	const out = new Uint8ClampedArray(n * 4);
	for (let p = 0; p < n; p++) {
		if (t.channels === 1) {
			const v = t.pixels[p];
			out[p * 4] = v;
			out[p * 4 + 1] = v;
			out[p * 4 + 2] = v;
		} else {
			out[p * 4] = t.pixels[p * 3];
			out[p * 4 + 1] = t.pixels[p * 3 + 1];
			out[p * 4 + 2] = t.pixels[p * 3 + 2];
		}
		out[p * 4 + 3] = 255;
	}
	return out;
}
