import { describe, expect, it } from 'vitest';
import type { TabularTask, TimeSeriesTask } from '@qflare/protocol';
import { toPredictions } from '@qflare/data-import';
import { exampleWindow } from './example-window';
import { exampleWindowFor, parseWindowText, probabilityBars, windowText } from './try-model';

const CLASSIFY: TabularTask = {
	kind: 'tabular',
	features: [{ name: 'x', type: 'numeric' }],
	target: 'y',
	objective: { type: 'classification', classes: ['cat', 'dog', 'fox'] }
};
const REGRESS: TabularTask = { ...CLASSIFY, objective: { type: 'regression', loss: 'mse' } };
const SERIES: TimeSeriesTask = { kind: 'time-series', timeColumn: 't', valueColumns: ['co2', 'temp'], target: 'co2', window: 3, horizon: 2, loss: 'mae' };

// The worker reads model outputs with @qflare/data-import's toPredictions, as the server's predict
// endpoint does; these check that what the page then shows comes out in exact numbers.
describe('a prediction as the page shows it', () => {
	it('names the most likely class and lists every class by falling probability', () => {
		const [prediction] = toPredictions(new Float32Array([0.25, 0.5, 0.25]), 1, CLASSIFY, null);
		expect(prediction).toEqual({ label: 'dog', probabilities: { cat: 0.25, dog: 0.5, fox: 0.25 } });
		expect('label' in prediction && probabilityBars(prediction)).toEqual([
			{ label: 'dog', probability: 0.5, best: true },
			{ label: 'cat', probability: 0.25, best: false },
			{ label: 'fox', probability: 0.25, best: false }
		]);
	});

	it('gives values in target units: the tabular target and each forecast step', () => {
		expect(toPredictions(new Float32Array([1.5]), 1, REGRESS, { mean: 100, std: 20 })).toEqual([{ values: [130] }]);
		expect(toPredictions(new Float32Array([-1, 0.5]), 1, SERIES, { mean: 300, std: 4 })).toEqual([{ values: [296, 302] }]);
		expect(toPredictions(new Float32Array([2]), 1, REGRESS, null)).toEqual([{ values: [2] }]);
	});

	it('refuses outputs that do not fit the task', () => {
		expect(() => toPredictions(new Float32Array([0.5, 0.5]), 1, CLASSIFY, null)).toThrow('the model gave 2 outputs for 1 inputs; expected 3 per input');
		expect(() => toPredictions(new Float32Array([1, 2, 3]), 1, SERIES, null)).toThrow('the model gave 3 outputs for 1 inputs; expected 2 per input');
	});
});

describe('probabilityBars', () => {
	it('orders classes by falling probability and marks the prediction', () => {
		expect(probabilityBars({ label: 'fox', probabilities: { cat: 0.1, dog: 0.3, fox: 0.6 } })).toEqual([
			{ label: 'fox', probability: 0.6, best: true },
			{ label: 'dog', probability: 0.3, best: false },
			{ label: 'cat', probability: 0.1, best: false }
		]);
	});
});

describe('parseWindowText', () => {
	it('reads one row per line, any common separator, and skips a header line', () => {
		expect(parseWindowText('co2, temp\n315.5, 12\n316;13\n317\t-1.5\n', SERIES)).toEqual({
			rows: [
				[315.5, 12],
				[316, 13],
				[317, -1.5]
			]
		});
		expect(parseWindowText('1 2\n3 4\n\n5 6', SERIES)).toEqual({ rows: [[1, 2], [3, 4], [5, 6]] });
	});

	it('names the lines that are wrong', () => {
		expect(parseWindowText('1,2\n3\n5,x,7', SERIES)).toEqual({
			problems: ['line 2 has 1 value; expected 2 (co2, temp)', 'line 3 has 3 values; expected 2 (co2, temp)', 'line 3: "x" is not a number']
		});
		expect(parseWindowText('1,2\n3,4', SERIES)).toEqual({ problems: ['the forecast needs the last 3 rows, one per line; there are 2'] });
	});
});

describe('exampleWindow and windowText', () => {
	it('takes the last window of the hold-out and writes it back as the box reads it', () => {
		// Two windows of 3 rows x 2 values each.
		const holdOut = { count: 2, inputs: new Float32Array([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60.25]) };
		const rows = exampleWindow({ train: { count: 0, inputs: new Float32Array(0) }, holdOut }, SERIES);
		expect(rows).toEqual([
			[10, 20],
			[30, 40],
			[50, 60.25]
		]);
		const text = windowText(rows!, SERIES);
		expect(text).toBe('co2, temp\n10, 20\n30, 40\n50, 60.25');
		expect(parseWindowText(text, SERIES)).toEqual({ rows });
	});

	it('falls back to the training windows and gives nothing for an empty series', () => {
		const train = { count: 1, inputs: new Float32Array([7, 8, 9, 10, 11, 12]) };
		expect(exampleWindow({ train, holdOut: null }, SERIES)).toEqual([[7, 8], [9, 10], [11, 12]]);
		expect(exampleWindow({ train: { count: 0, inputs: new Float32Array(0) }, holdOut: null }, SERIES)).toBeNull();
	});
});

describe('exampleWindowFor', () => {
	const example = [[7, 8], [9, 10], [11, 12]];
	it('takes the window stored with data prepared for this very task', () => {
		expect(exampleWindowFor({ task: { ...SERIES }, example }, SERIES)).toEqual(example);
	});

	it('gives none from data prepared for another task, or for a project that forecasts nothing', () => {
		// Stored for a 2-row window of one column: it would not fit the form.
		const stale: TimeSeriesTask = { ...SERIES, valueColumns: ['co2'], target: 'co2', window: 2 };
		expect(exampleWindowFor({ task: stale, example: [[7], [8]] }, SERIES)).toBeNull();
		expect(exampleWindowFor({ task: SERIES, example }, CLASSIFY)).toBeNull();
		expect(exampleWindowFor({ task: SERIES, example }, null)).toBeNull();
	});
});
