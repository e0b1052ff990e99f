import type { FeatureStatsReport, TaskSchema } from '@qflare/protocol';

/**
 * Samples ready for the trainer. inputs: count x prod(taskInputShape(task)) values — images as
 * HWC pixels 0..255 (Uint8Array); tabular rows and time-series windows as raw float32 values
 * (not standardised; categoricals one-hot). targets: class indices (Uint8Array) for
 * classification, raw values (Float32Array; count x 1 tabular, count x horizon time series)
 * for regression.
 */
export interface PreparedSplit {
	count: number;
	inputs: Uint8Array | Float32Array;
	targets: Uint8Array | Float32Array;
}

/** What the participant sees about its data before training; it stays on the device. */
export interface DataSummary {
	/** The file or folder the data came from. */
	source: string;
	/** Samples read: data rows of the file, or images. */
	rows: number;
	/** Column names as in the file's header ([] for images). */
	columns: string[];
	/** The first rows as text (images: file and label), for the local preview only: the binary cache drops it. */
	preview: string[][];
	/** Training samples and hold-out samples (time series: windows). */
	trainCount: number;
	holdOutCount: number;
	/**
	 * Time series: windows left out between training and hold-out, so that no training window
	 * (inputs or targets) shares a row with a hold-out window. 0 otherwise.
	 */
	gapWindows: number;
	/** Files left out, each with the reason (for example a file that is not an image). */
	skipped: string[];
}

export interface PreparedData {
	task: TaskSchema;
	train: PreparedSplit;
	holdOut: PreparedSplit | null;
	/** Count, sum and sum of squares per numeric column over the training split only: what the device reports. */
	stats: FeatureStatsReport;
	/**
	 * Classification: samples per class in the training split (what the device reports beside its
	 * training sample count; the hold-out is not counted); null otherwise.
	 */
	labelHistogram: number[] | null;
	summary: DataSummary;
}
