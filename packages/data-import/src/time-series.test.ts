import type { TimeSeriesTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { DataImportError } from './errors';
import { prepareCsv } from './prepare-csv';
import { encodeWindows, parseIsoTime } from './time-series';

const task: TimeSeriesTask = { kind: 'time-series', timeColumn: 't', valueColumns: ['x', 'y'], target: 'y', window: 2, horizon: 1, loss: 'mse' };

/** Rows for t = 1..n with x = 10t and y = 100t, listed out of order. */
function series(n: number, order: (t: number[]) => number[] = (t) => t.reverse()): string {
	const times = order(Array.from({ length: n }, (_, i) => i + 1));
	return ['t,x,y', ...times.map((t) => `${t},${10 * t},${100 * t}`)].join('\n');
}

function problemsOf(text: string, t: TimeSeriesTask = task, fraction = 0): string[] {
	try {
		prepareCsv(text, t, { holdOutFraction: fraction, seed: 1 }, 'series.csv');
	} catch (error) {
		expect(error).toBeInstanceOf(DataImportError);
		return (error as DataImportError).problems;
	}
	throw new Error('expected a DataImportError');
}

describe('prepareCsv (time series)', () => {
	it('sorts by time and cuts windows of `window` rows predicting the next `horizon` target values', () => {
		const data = prepareCsv(series(8), task, { holdOutFraction: 0, seed: 1 });
		// 8 rows, window 2 + horizon 1: 6 windows; window k = rows k, k+1 -> y at row k+2.
		expect(data.train.count).toBe(6);
		expect(data.holdOut).toBeNull();
		expect(Array.from(data.train.inputs.subarray(0, 8))).toEqual([10, 100, 20, 200, 20, 200, 30, 300]);
		expect(Array.from(data.train.inputs.subarray(20, 24))).toEqual([60, 600, 70, 700]);
		expect(Array.from(data.train.targets)).toEqual([300, 400, 500, 600, 700, 800]);
		expect(data.labelHistogram).toBeNull();
		expect(data.stats.columns.x).toEqual({ count: 8, sum: 360, sumSquares: 100 * 204 });
	});

	it('holds out the last windows, leaving a gap so no training window shares a row with them', () => {
		const data = prepareCsv(series(8), task, { holdOutFraction: 0.2, seed: 1 });
		// 6 windows: 1 held out (the last), 2 dropped (window + horizon - 1), 3 for training.
		expect(data.summary.gapWindows).toBe(2);
		expect(data.train.count).toBe(3);
		expect(Array.from(data.train.targets)).toEqual([300, 400, 500]);
		expect(data.holdOut?.count).toBe(1);
		expect(Array.from(data.holdOut!.inputs)).toEqual([60, 600, 70, 700]);
		expect(Array.from(data.holdOut!.targets)).toEqual([800]);
		// Training windows use rows t = 1..5 (inputs and targets); statistics cover exactly those.
		expect(data.stats.columns).toEqual({
			x: { count: 5, sum: 150, sumSquares: 5500 },
			y: { count: 5, sum: 1500, sumSquares: 550000 }
		});
		// The hold-out does not depend on the seed: it is the end of the series.
		const other = prepareCsv(series(8), task, { holdOutFraction: 0.2, seed: 99 });
		expect(other.holdOut!.targets).toEqual(data.holdOut!.targets);
	});

	it('takes a horizon of several values and several value columns', () => {
		const wide: TimeSeriesTask = { ...task, window: 3, horizon: 2 };
		const data = prepareCsv(series(6), wide, { holdOutFraction: 0, seed: 1 });
		expect(data.train.count).toBe(2);
		expect(Array.from(data.train.inputs)).toEqual([10, 100, 20, 200, 30, 300, 20, 200, 30, 300, 40, 400]);
		expect(Array.from(data.train.targets)).toEqual([400, 500, 500, 600]);
	});

	it('sorts ISO dates and date-times, reading times without a zone as UTC', () => {
		const text = ['t,x,y', '2024-01-03,3,30', '2024-01-01T00:00:00Z,1,10', '2024-01-02 12:00,2,20', '2024-01-04T01:00:00+02:00,4,40'].join('\n');
		const data = prepareCsv(text, task, { holdOutFraction: 0, seed: 1 });
		expect(Array.from(data.train.targets)).toEqual([30, 40]);
		expect(Array.from(data.train.inputs.subarray(0, 4))).toEqual([1, 10, 2, 20]);
		expect(parseIsoTime('2024-01-02 12:00')).toBe(Date.UTC(2024, 0, 2, 12));
		expect(parseIsoTime('2024-01-04T01:00:00+0200')).toBe(Date.UTC(2024, 0, 3, 23));
		expect(parseIsoTime('1958-03')).toBe(Date.UTC(1958, 2, 1));
		expect(parseIsoTime('03/29/1958')).toBeNull();
	});

	it('rejects duplicate and unparseable times, and missing values', () => {
		expect(problemsOf(['t,x,y', '1,10,100', '2,20,200', '1,30,300', '3,,300', '4,40,x'].join('\n'))).toEqual([
			'series.csv row 5, column "x" is empty: every cell needs a value',
			'series.csv row 6, column "y": "x" is not a number'
		]);
		expect(problemsOf(['t,x,y', '1,10,100', '2,20,200', '1,30,300', '3,30,300'].join('\n'))).toEqual([
			'series.csv rows 2 and 4 have the same time "1": each time may appear once'
		]);
		expect(problemsOf(['t,x,y', '2024-01-01,1,1', '01/02/2024,2,2', ',3,3'].join('\n'))).toEqual([
			'series.csv row 3, column "t": "01/02/2024" is not an ISO date such as 2024-01-31 or 2024-01-31T08:00:00Z',
			'series.csv row 4, column "t" is empty: every row needs a time'
		]);
		expect(problemsOf(['t,x,y', '1,1,1', '2024-01-01,2,2'].join('\n'))).toEqual(['series.csv row 3, column "t": "2024-01-01" is not a number, like the first row']);
	});

	it('names missing and extra columns (the time column is not extra)', () => {
		expect(problemsOf(['t,x,z', '1,1,1'].join('\n'))).toEqual([
			'series.csv is missing the column "y"',
			'series.csv has the column "z", which the task does not use (expected only "t", "x", "y")'
		]);
	});

	it('says how many rows one window needs, with and without a hold-out', () => {
		expect(problemsOf(series(2))).toEqual(['series.csv has 2 data rows, too few: the task needs at least 3 for one window of 2 rows plus 1 row to predict']);
		expect(problemsOf(series(5), task, 0.15)).toEqual([
			'series.csv has 5 data rows, too few: the task needs at least 6 for one training window and one hold-out window that do not share rows (2 x (window 2 + horizon 1))'
		]);
		expect(prepareCsv(series(6), task, { holdOutFraction: 0.15, seed: 1 }).train.count).toBe(1);
	});
});

describe('encodeWindows', () => {
	it('flattens windows row-major as [window, values]', () => {
		expect(Array.from(encodeWindows([[[1, 10], [2, 20]], [[3, 30], [4, 40]]], task))).toEqual([1, 10, 2, 20, 3, 30, 4, 40]);
	});

	it('names windows of the wrong length or width and values that are not finite', () => {
		try {
			encodeWindows([[[1, 10]], [[1], [2, 20]], [[Number.POSITIVE_INFINITY, 1], [2, 2]]], task);
			throw new Error('expected a DataImportError');
		} catch (error) {
			expect((error as DataImportError).problems).toEqual([
				"window 1 has 1 rows; the task's window is 2 rows",
				'window 2, row 1 has 1 values; expected 2 (x, y)',
				'window 3, row 1, column "x": "Infinity" is not a number'
			]);
		}
	});
});
