import { describe, expect, it } from 'vitest';
import { macroF1, mergeEvaluations, summarizeEvaluation } from './federated-evaluation';

describe('macroF1', () => {
	it('averages per-class F1 without weighting by support', () => {
		// class 0: F1 = 2*8/(16+2+0) = 0.888..; class 1: 2*1/(2+0+2) = 0.5
		expect(macroF1([8, 1], [2, 0], [0, 2])).toBeCloseTo((16 / 18 + 0.5) / 2, 15);
		// Class 0 is predicted once but never true: F1 0, and it counts. Class 1: 10 / 11.
		expect(macroF1([0, 5], [1, 0], [0, 1])).toBeCloseTo(5 / 11, 15);
		expect(() => macroF1([1], [1, 2], [1])).toThrow(RangeError);
	});

	it('leaves out classes that are neither true nor predicted in any sample', () => {
		// A perfect model on a hold-out without class 0 scores 1, not 1/2.
		expect(macroF1([0, 5], [0, 0], [0, 0])).toBe(1);
		// Class 1 never occurs: the mean of classes 0 (6/7) and 2 (4/5).
		expect(macroF1([3, 0, 2], [0, 0, 1], [1, 0, 0])).toBeCloseTo((6 / 7 + 4 / 5) / 2, 15);
		expect(macroF1([0, 0], [0, 0], [0, 0])).toBe(0);
	});
});

describe('mergeEvaluations', () => {
	it('weights loss by n and computes accuracy and macro-F1 from summed counts', () => {
		const a = {
			modelVersion: 3,
			n: 10,
			loss: 0.5,
			classification: { correct: 8, truePositives: [6, 2], falsePositives: [2, 0], falseNegatives: [0, 2] }
		};
		const b = {
			modelVersion: 3,
			n: 30,
			loss: 0.1,
			classification: { correct: 27, truePositives: [20, 7], falsePositives: [1, 2], falseNegatives: [2, 1] }
		};
		const merged = mergeEvaluations(3, [a, b]);
		expect(merged.n).toBe(40);
		expect(merged.devices).toBe(2);
		expect(merged.loss).toBeCloseTo((0.5 * 10 + 0.1 * 30) / 40, 15);
		expect(merged.accuracy).toBe(35 / 40);
		// Summed: tp [26, 9], fp [3, 2], fn [2, 3] -> F1 52/57 and 18/23.
		expect(merged.macroF1).toBeCloseTo((52 / 57 + 18 / 23) / 2, 15);
		expect(merged.mae).toBeNull();
		expect(merged.rmse).toBeNull();
	});

	it('computes MAE and RMSE over every predicted value of every device', () => {
		const a = { modelVersion: 1, n: 2, loss: 1, regression: { values: 4, absErrorSum: 4, squaredErrorSum: 8 } };
		const b = { modelVersion: 1, n: 1, loss: 4, regression: { values: 2, absErrorSum: 8, squaredErrorSum: 40 } };
		const merged = mergeEvaluations(1, [a, b]);
		expect(merged.loss).toBe(2);
		expect(merged.mae).toBe(2);
		expect(merged.rmse).toBe(Math.sqrt(8));
		expect(merged.accuracy).toBeNull();
		expect(merged.macroF1).toBeNull();
	});

	it('refuses reports on another version, of another kind or with another class count', () => {
		const cls = (classes: number) => ({
			modelVersion: 2,
			n: 1,
			loss: 1,
			classification: { correct: 1, truePositives: Array(classes).fill(0), falsePositives: Array(classes).fill(0), falseNegatives: Array(classes).fill(0) }
		});
		const reg = { modelVersion: 2, n: 1, loss: 1, regression: { values: 1, absErrorSum: 1, squaredErrorSum: 1 } };
		expect(() => mergeEvaluations(3, [cls(2)])).toThrow(/v2, not v3/);
		expect(() => mergeEvaluations(2, [cls(2), reg])).toThrow(/regression report/);
		expect(() => mergeEvaluations(2, [cls(2), cls(3)])).toThrow(/3 classes, expected 2/);
	});

	it('summarizes one device report the same way', () => {
		const report = { modelVersion: 4, n: 5, loss: 0.2, classification: { correct: 4, truePositives: [2, 2], falsePositives: [1, 0], falseNegatives: [0, 1] } };
		expect(summarizeEvaluation(report)).toEqual({ modelVersion: 4, n: 5, loss: 0.2, accuracy: 0.8, macroF1: (4 / 5 + 4 / 5) / 2, mae: null, rmse: null });
	});
});
