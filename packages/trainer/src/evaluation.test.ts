import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import type { ModelSpec } from './spec';
import { buildModel } from './model';
import { setFlatWeights } from './weights';
import { evaluateHoldOut, predict } from './train';
import { LocalTrainer } from './local-trainer';

let tf: Tf;
beforeAll(async () => {
	({ tf } = await initNodeTf());
});

// softmax(x W + b) with W = [[ln 8, 0, 0], [0, ln 8, 0]], b = [0, 0, ln 2]:
// x = (1, 0) -> [8, 1, 2] / 11, x = (0, 1) -> [1, 8, 2] / 11, x = (0, 0) -> [1, 1, 2] / 4.
const classifier: ModelSpec = {
	name: 'fixed-classifier',
	inputShape: [2],
	layers: [{ type: 'dense', units: 3, activation: 'softmax' }],
	objective: { type: 'classification', numClasses: 3 }
};
const classifierWeights = Float32Array.from([Math.log(8), 0, 0, 0, Math.log(8), 0, 0, 0, Math.log(2)]);
const rows = Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1, 0, 0]);
const classes = Uint8Array.from([0, 1, 2, 0, 2]);

// y = x W + b with W = [[2, 1], [-1, 0]], b = [0.5, -1]: x = (1, 0) -> (2.5, 0), (0, 1) -> (-0.5, -1), (1, 1) -> (1.5, 0).
const regressor = (loss: 'mse' | 'mae'): ModelSpec => ({
	name: 'fixed-regressor',
	inputShape: [2],
	layers: [{ type: 'dense', units: 2, activation: 'linear' }],
	objective: { type: 'regression', loss, outputs: 2 }
});
const regressorWeights = Float32Array.from([2, 1, -1, 0, 0.5, -1]);
const points = Float32Array.from([1, 0, 0, 1, 1, 1]);
// Errors (prediction - target): (0.5, 0), (-0.5, 1), (0, -2): |e| sums to 4, e^2 to 5.5, over 6 values.
const targets = Float32Array.from([2, 0, 0, -2, 1.5, 2]);

function fixedModel(spec: ModelSpec, weights: Float32Array) {
	const model = buildModel(tf, spec, 1);
	setFlatWeights(tf, model, weights);
	return model;
}

describe('evaluateHoldOut', () => {
	it('counts correct predictions and per-class tp/fp/fn, with the clipped cross-entropy as loss', async () => {
		const model = fixedModel(classifier, classifierWeights);
		const before = tf.memory().numTensors;
		const report = await evaluateHoldOut(tf, model, { count: 5, images: rows, labels: classes }, classifier.objective, null, 2);
		expect(tf.memory().numTensors).toBe(before);
		// Row 2 (class 2) is predicted 0, row 3 (class 0) is predicted 1; the rest are right.
		expect(report.classification).toEqual({ correct: 3, truePositives: [1, 1, 1], falsePositives: [1, 1, 0], falseNegatives: [1, 0, 1] });
		expect(report.n).toBe(5);
		expect(report.regression).toBeUndefined();
		const expected = (2 * Math.log(11 / 8) + Math.log(11 / 2) + Math.log(11) + Math.log(2)) / 5;
		expect(report.loss).toBeCloseTo(expected, 6);
		model.dispose();
	});

	it('scales pixel inputs by 1/255', async () => {
		const model = fixedModel(classifier, classifierWeights);
		const pixels = Uint8Array.from(rows, (v) => v * 255);
		const fromPixels = await evaluateHoldOut(tf, model, { count: 5, images: pixels, labels: classes }, classifier.objective);
		const fromFloats = await evaluateHoldOut(tf, model, { count: 5, images: rows, labels: classes }, classifier.objective);
		expect(fromPixels).toEqual(fromFloats);
		model.dispose();
	});

	it('sums absolute and squared errors over every value, in target units', async () => {
		const model = fixedModel(regressor('mse'), regressorWeights);
		const data = { count: 3, images: points, labels: targets };
		const before = tf.memory().numTensors;
		expect(await evaluateHoldOut(tf, model, data, regressor('mse').objective, null)).toEqual({
			n: 3,
			loss: 5.5 / 6,
			regression: { values: 6, absErrorSum: 4, squaredErrorSum: 5.5 }
		});
		// std 2: absolute errors double, squared errors quadruple; the loss stays on standardised targets.
		expect(await evaluateHoldOut(tf, model, data, regressor('mae').objective, { mean: 100, std: 2 })).toEqual({
			n: 3,
			loss: 4 / 6,
			regression: { values: 6, absErrorSum: 8, squaredErrorSum: 22 }
		});
		expect(tf.memory().numTensors).toBe(before);
		model.dispose();
	});

	it('rejects data that does not fit the objective with a clear message', async () => {
		const model = fixedModel(regressor('mse'), regressorWeights);
		const objective = regressor('mse').objective;
		await expect(evaluateHoldOut(tf, model, { count: 3, images: points, labels: Uint8Array.from([0, 1, 0]) }, objective)).rejects.toThrow(/regression targets must be a Float32Array/);
		await expect(evaluateHoldOut(tf, model, { count: 3, images: points, labels: targets.subarray(0, 3) }, objective)).rejects.toThrow(/targets has 3 values, expected 3 x 2/);
		await expect(evaluateHoldOut(tf, model, { count: 3, images: points, labels: Float32Array.from([0, 0, NaN, 0, 0, 0]) }, objective)).rejects.toThrow(/target NaN at row 1 is not finite/);
		await expect(evaluateHoldOut(tf, model, { count: 3, images: Float32Array.from([1, 0, Infinity, 1, 1, 1]), labels: targets }, objective)).rejects.toThrow(/input value Infinity at row 1, column 0/);
		await expect(evaluateHoldOut(tf, model, { count: 3, images: points, labels: targets }, { type: 'regression', loss: 'mse', outputs: 1 })).rejects.toThrow(/1 outputs, model fixed-regressor has 2/);
		await expect(evaluateHoldOut(tf, model, { count: 3, images: points, labels: targets }, objective, { mean: 0, std: 0 })).rejects.toThrow(/std must be a positive number/);
		model.dispose();
		const diverged = fixedModel(regressor('mse'), Float32Array.from([2, 1, -1, 0, 0.5, NaN]));
		await expect(evaluateHoldOut(tf, diverged, { count: 3, images: points, labels: targets }, objective)).rejects.toThrow(/predicts NaN for hold-out row 0: its weights have diverged/);
		diverged.dispose();
	});
});

describe('predict', () => {
	it('returns count x outputs probabilities or values, batched, without keeping tensors', async () => {
		const model = fixedModel(classifier, classifierWeights);
		const before = tf.memory().numTensors;
		const probs = await predict(tf, model, rows, 5, 2);
		expect(tf.memory().numTensors).toBe(before);
		expect(probs.length).toBe(15);
		const expected = [8 / 11, 1 / 11, 2 / 11, 1 / 11, 8 / 11, 2 / 11, 8 / 11, 1 / 11, 2 / 11, 1 / 11, 8 / 11, 2 / 11, 0.25, 0.25, 0.5];
		expected.forEach((p, i) => expect(probs[i]).toBeCloseTo(p, 6));
		await expect(predict(tf, model, rows, 4)).rejects.toThrow(/images has 10 values, expected 4 x 2/);
		model.dispose();

		const linear = fixedModel(regressor('mse'), regressorWeights);
		expect(await predict(tf, linear, points, 3)).toEqual(Float32Array.from([2.5, 0, -0.5, -1, 1.5, 0]));
		linear.dispose();
	});
});

describe('LocalTrainer', () => {
	it('evaluates a hold-out and predicts with given weights, using the prepared spec', async () => {
		const trainer = new LocalTrainer(tf);
		trainer.prepare(regressor('mae'), 3);
		const report = await trainer.evaluateHoldOut(regressorWeights, { count: 3, images: points, labels: targets }, { mean: 0, std: 0.5 });
		expect(report).toEqual({ n: 3, loss: 4 / 6, regression: { values: 6, absErrorSum: 2, squaredErrorSum: 5.5 / 4 } });
		expect(await trainer.predict(regressorWeights, points, 3)).toEqual(Float32Array.from([2.5, 0, -0.5, -1, 1.5, 0]));
		await expect(trainer.evaluate(regressorWeights, { count: 3, images: points, labels: targets })).rejects.toThrow(/evaluate reports accuracy of a classifier/);
		trainer.dispose();
		await expect(trainer.predict(regressorWeights, points, 3)).rejects.toThrow(/prepare\(spec, seed\) was not called/);
	});
});
