import { MIN_ROWS_FOR_STATS, type TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { evaluationReportProblems, featureStatsProblems } from './report-checks';

const classification: TaskSchema = {
	kind: 'tabular',
	features: [
		{ name: 'a', type: 'numeric' },
		{ name: 'b', type: 'numeric' },
		{ name: 'c', type: 'categorical', values: ['x', 'y'] }
	],
	target: 'label',
	objective: { type: 'classification', classes: ['no', 'yes', 'maybe'] }
};
const forecast: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['v', 'w'], target: 'v', window: 8, horizon: 3, loss: 'mse' };
const images: TaskSchema = { kind: 'image-classification', classes: ['cat', 'dog'], width: 8, height: 8, channels: 1 };

describe('featureStatsProblems', () => {
	const sums = (count: number, values: number[]) => ({ count, sum: values.reduce((a, b) => a + b, 0), sumSquares: values.reduce((a, b) => a + b * b, 0) });
	/** `values` repeated `times` times: the sums of a device with that many copies of the rows. */
	const repeated = (values: number[], times: number) => sums(values.length * times, Array.from({ length: times }, () => values).flat());

	it('accepts exactly the numeric columns with one row count', () => {
		expect(featureStatsProblems({ columns: { a: repeated([1, 2, 3], 4), b: repeated([0, 0, 0], 4) } }, classification)).toEqual([]);
		expect(featureStatsProblems({ columns: { v: repeated([1, 2], 5), w: repeated([5, 5], 5) } }, forecast)).toEqual([]);
	});

	it('names missing and extra columns', () => {
		expect(featureStatsProblems({ columns: { a: repeated([1], 10), c: repeated([1], 10) } }, classification)).toEqual([
			'missing statistics for column(s) "b"',
			'column(s) "c" are not numeric columns of the task'
		]);
	});

	it('refuses empty counts, differing counts and impossible sums', () => {
		expect(featureStatsProblems({ columns: { a: { count: 0, sum: 0, sumSquares: 0 }, b: repeated([1, 1], 5) } }, classification)).toEqual([
			'column "a": count is 0; a device reports statistics only of the rows it trains on',
			'columns report different row counts (0, 10); every row has a value in every column'
		]);
		// Ten numbers summing to 50 have squares summing to at least 10 * 5^2 = 250.
		expect(featureStatsProblems({ columns: { a: { count: 10, sum: 50, sumSquares: 249 }, b: repeated([1, 1], 5) } }, classification)).toEqual([
			'column "a": sum 50 and sum of squares 249 over 10 rows cannot come from real numbers'
		]);
		expect(featureStatsProblems({ columns: { a: { count: 10, sum: 50, sumSquares: 250 }, b: repeated([1, 1], 5) } }, classification)).toEqual([]);
	});

	it(`refuses statistics of fewer than ${MIN_ROWS_FOR_STATS} rows, whose sums would give the rows away`, () => {
		expect(MIN_ROWS_FOR_STATS).toBe(10);
		// Two rows: sum 4 and sum of squares 10 solve to exactly the rows 1 and 3.
		expect(featureStatsProblems({ columns: { a: sums(2, [1, 3]), b: sums(2, [2, 2]) } }, classification)).toEqual([
			'the statistics cover 2 rows; a device shares column sums only of at least 10 training rows, so that they cannot reveal single rows'
		]);
		expect(featureStatsProblems({ columns: { v: sums(1, [7]), w: sums(1, [5]) } }, forecast)).toEqual([
			'the statistics cover 1 row; a device shares column sums only of at least 10 training rows, so that they cannot reveal single rows'
		]);
		expect(featureStatsProblems({ columns: { v: repeated([1, 2, 3], 3), w: repeated([5, 5, 5], 3) } }, forecast)).toHaveLength(1);
		expect(featureStatsProblems({ columns: { v: repeated([1, 2, 3, 4, 5], 2), w: repeated([5, 5, 5, 5, 5], 2) } }, forecast)).toEqual([]);
	});

	it('says an image task takes no statistics', () => {
		expect(featureStatsProblems({ columns: {} }, images)).toEqual(['the task (image-classification) has no numeric columns, so it takes no feature statistics']);
	});
});

describe('evaluationReportProblems', () => {
	// 10 samples: 6 right (4 of class 0, 2 of class 1); misses: true 0 -> predicted 1, true 2 -> predicted 0 (x2), true 1 -> predicted 2.
	const counts = { correct: 6, truePositives: [4, 2, 0], falsePositives: [2, 1, 1], falseNegatives: [1, 1, 2] };

	it('accepts consistent classification counts and regression sums', () => {
		expect(evaluationReportProblems({ modelVersion: 1, n: 10, loss: 0.7, classification: counts }, classification)).toEqual([]);
		const regression = { values: 12, absErrorSum: 6, squaredErrorSum: 4 };
		expect(evaluationReportProblems({ modelVersion: 1, n: 4, loss: 0.7, regression }, forecast)).toEqual([]);
	});

	it('refuses the wrong kind of report for the task', () => {
		expect(evaluationReportProblems({ modelVersion: 1, n: 4, loss: 1, regression: { values: 4, absErrorSum: 1, squaredErrorSum: 1 } }, classification)).toEqual([
			'a classification task needs classification counts (correct, truePositives, falsePositives, falseNegatives)'
		]);
		expect(evaluationReportProblems({ modelVersion: 1, n: 10, loss: 1, classification: counts }, forecast)).toEqual([
			'a regression task (time-series) needs error sums (values, absErrorSum, squaredErrorSum)'
		]);
	});

	it('refuses per-class arrays of another length than the classes', () => {
		const twoClasses = { correct: 6, truePositives: [4, 2], falsePositives: [2, 2], falseNegatives: [2, 2] };
		expect(evaluationReportProblems({ modelVersion: 1, n: 10, loss: 1, classification: twoClasses }, classification)).toEqual([
			'truePositives has 2 entries; the task has 3 classes',
			'falsePositives has 2 entries; the task has 3 classes',
			'falseNegatives has 2 entries; the task has 3 classes'
		]);
	});

	it('refuses counts that no set of predictions gives', () => {
		expect(evaluationReportProblems({ modelVersion: 1, n: 11, loss: 1, classification: counts }, classification)).toEqual([
			'true positives plus false negatives sum to 10, not n (11)',
			'true positives plus false positives sum to 10, not n (11)'
		]);
		expect(evaluationReportProblems({ modelVersion: 1, n: 10, loss: 1, classification: { ...counts, correct: 7 } }, classification)).toEqual([
			'true positives sum to 6, not correct (7)'
		]);
		expect(evaluationReportProblems({ modelVersion: 1, n: 4, loss: 1, regression: { values: 4, absErrorSum: 1, squaredErrorSum: 1 } }, forecast)).toEqual([
			'values is 4; 4 samples with 3 predicted value(s) each make 12'
		]);
		// Cross-entropy, MSE and MAE are never negative; a negative loss would pull the merged loss down.
		expect(evaluationReportProblems({ modelVersion: 1, n: 10, loss: -0.5, classification: counts }, classification)).toEqual([
			'loss -0.5 is negative; cross-entropy, MSE and MAE never are'
		]);
		expect(evaluationReportProblems({ modelVersion: 1, n: 4, loss: -1, regression: { values: 12, absErrorSum: 6, squaredErrorSum: 4 } }, forecast)).toEqual([
			'loss -1 is negative; cross-entropy, MSE and MAE never are'
		]);
		// 12 errors with |e| summing to 12 have e^2 summing to at least 12.
		expect(evaluationReportProblems({ modelVersion: 1, n: 4, loss: 1, regression: { values: 12, absErrorSum: 12, squaredErrorSum: 11 } }, forecast)).toEqual([
			'absErrorSum 12 and squaredErrorSum 11 over 12 values cannot come from real errors'
		]);
	});
});
