import { describe, expect, it } from 'vitest';
import type { ImageClassificationTask } from '@qflare/protocol';
import type { PreparedData } from '@qflare/data-import';
import { buildPreview, classNames, pickThumbnails, thumbnailRgba } from './import-preview';

const TASK: ImageClassificationTask = { kind: 'image-classification', classes: ['a', 'b', 'c'], width: 2, height: 1, channels: 1 };

/** Training images labelled a, a, a, b, a, c, b: pixel values say which row they are. */
function images(): PreparedData {
	const labels = [0, 0, 0, 1, 0, 2, 1];
	return {
		task: TASK,
		train: { count: 7, inputs: new Uint8Array(labels.flatMap((_, i) => [i, 100 + i])), targets: new Uint8Array(labels) },
		holdOut: { count: 1, inputs: new Uint8Array([9, 9]), targets: new Uint8Array([2]) },
		stats: { columns: {} },
		labelHistogram: [4, 2, 1],
		summary: { source: 'pics', rows: 8, columns: [], preview: [['pics/a/0.png', 'a']], trainCount: 7, holdOutCount: 1, gapWindows: 0, skipped: [] }
	};
}

describe('pickThumbnails', () => {
	it('takes one image per class in turn, so every class shows', () => {
		const thumbs = pickThumbnails(images(), 5);
		expect(thumbs.map((t) => t.label)).toEqual(['a', 'b', 'c', 'a', 'b']);
		// Rows 0, 3, 5, 1, 6 of the training split.
		expect(thumbs.map((t) => t.pixels[0])).toEqual([0, 3, 5, 1, 6]);
		expect(thumbs[0]).toMatchObject({ width: 2, height: 1, channels: 1 });
		expect(Array.from(thumbs[0].pixels)).toEqual([0, 100]);
		expect(pickThumbnails(images(), 8)).toHaveLength(7);
	});

	it('has none for tabular data', () => {
		const data = images();
		expect(
			pickThumbnails({ ...data, task: { kind: 'tabular', features: [{ name: 'x', type: 'numeric' }], target: 'y', objective: { type: 'regression', loss: 'mse' } } })
		).toEqual([]);
	});
});

describe('thumbnailRgba', () => {
	it('repeats gray into RGB and keeps colour, always opaque', () => {
		expect(Array.from(thumbnailRgba({ width: 2, height: 1, channels: 1, pixels: new Uint8Array([7, 200]) }))).toEqual([7, 7, 7, 255, 200, 200, 200, 255]);
		expect(Array.from(thumbnailRgba({ width: 1, height: 1, channels: 3, pixels: new Uint8Array([1, 2, 3]) }))).toEqual([1, 2, 3, 255]);
	});
});

describe('buildPreview', () => {
	it('carries the summary, the class names, the stored size and the sample unit', () => {
		const preview = buildPreview(images());
		expect(preview).toMatchObject({
			kind: 'images',
			source: 'pics',
			rows: 8,
			columns: [],
			firstRows: [['pics/a/0.png', 'a']],
			sampleUnit: 'images',
			trainCount: 7,
			holdOutCount: 1,
			labelHistogram: [4, 2, 1],
			classes: ['a', 'b', 'c'],
			// 7 x 2 + 7 training bytes, 2 + 1 hold-out bytes.
			bytes: 24
		});
		expect(preview.thumbnails).toHaveLength(7);
	});

	it('names classes for classification tasks only', () => {
		expect(classNames(TASK)).toEqual(['a', 'b', 'c']);
		expect(classNames({ kind: 'time-series', timeColumn: 't', valueColumns: ['v'], target: 'v', window: 2, horizon: 1, loss: 'mse' })).toBeNull();
	});
});
