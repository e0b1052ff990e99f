import type { TaskSchema } from '@qflare/protocol';
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

	it('accepts exactly the numeric columns with one row count', () => {
		expect(featureStatsProblems({ columns: { a: sums(3, [1, 2, 3]), b: sums(3, [0, 0, 0]) } }, classification)).toEqual([]);
		expect(featureStatsProblems({ columns: { v: sums(2, [1, 2]), w: sums(2, [5, 5]) } }, forecast)).toEqual([]);
	});

	it('names missing and extra columns', () => {
		expect(featureStatsProblems({ columns: { a: sums(1, [1]), c: sums(1, [1]) } }, classification)).toEqual([
			'missing statistics for column(s) "b"',
			'column(s) "c" are not numeric columns of the task'
		]);
	});

	it('refuses empty counts, differing counts and impossible sums', () => {
		expect(featureStatsProblems({ columns: { a: { count: 0, sum: 0, sumSquares: 0 }, b: sums(2, [1, 1]) } }, classification)).toEqual([
			'column "a": count is 0; a device reports statistics only of the rows it trains on',
			'columns report different row counts (0, 2); every row has a value in every column'
		]);
		// Two numbers summing to 10 have squares summing to at least 50.
		expect(featureStatsProblems({ columns: { a: { count: 2, sum: 10, sumSquares: 49 }, b: sums(2, [1, 1]) } }, classification)).toEqual([
			'column "a": sum 10 and sum of squares 49 over 2 rows cannot come from real numbers'
		]);
		expect(featureStatsProblems({ columns: { a: { count: 2, sum: 10, sumSquares: 50 }, b: sums(2, [1, 1]) } }, classification)).toEqual([]);
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
