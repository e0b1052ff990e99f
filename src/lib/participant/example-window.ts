import type { TimeSeriesTask } from '@qflare/protocol';

// Apart from try-model.ts so that the import worker, which stores the window with the preview,
// does not pull in the participant package.

/** An example window from the device's own prepared series (the hold-out's last, else training's last): raw values, rows x value columns. */
export function exampleWindow(splits: { train: { count: number; inputs: Uint8Array | Float32Array }; holdOut: { count: number; inputs: Uint8Array | Float32Array } | null }, task: TimeSeriesTask): number[][] | null {
	const split = splits.holdOut && splits.holdOut.count > 0 ? splits.holdOut : splits.train;
	if (split.count === 0) return null;
	const width = task.valueColumns.length;
	const size = task.window * width;
	const start = (split.count - 1) * size;
	return Array.from({ length: task.window }, (_, r) => Array.from(split.inputs.subarray(start + r * width, start + (r + 1) * width)));
}
