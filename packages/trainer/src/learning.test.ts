import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSchema } from '@qflare/protocol';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { modelSpec, type ModelSpec } from './spec';
import { buildModel } from './model';
import { mulberry32, type LabelledData } from './data';
import { evaluateHoldOut, trainLocal } from './train';

// Real learning on the task models: fixed seeds, so the figures below are reproducible here.
let tf: Tf;
beforeAll(async () => {
	({ tf } = await initNodeTf());
});
afterAll(async () => {
	await tf.setBackend('wasm');
});

function normals(count: number, seed: number): Float32Array {
	const rand = mulberry32(seed);
	const out = new Float32Array(count);
	for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
	return out;
}

const FEATURES = 4;
const tabular = (objective: Extract<TaskSchema, { kind: 'tabular' }>['objective']): TaskSchema => ({
	kind: 'tabular',
	features: Array.from({ length: FEATURES }, (_, i) => ({ name: `x${i}`, type: 'numeric' as const })),
	target: 'y',
	objective
});

/** Standard-normal features; the class is the argmax of three fixed linear scores (linearly separable). */
function separable(count: number, seed: number): LabelledData {
	const W = [
		[1.5, -1, 0.5, 0],
		[-1, 1.5, 0, 0.5],
		[0, -0.5, -1.5, 1]
	];
	const images = normals(count * FEATURES, seed);
	const labels = new Uint8Array(count);
	for (let r = 0; r < count; r++) {
		const x = images.subarray(r * FEATURES, (r + 1) * FEATURES);
		const scores = W.map((w) => w.reduce((s, v, j) => s + v * x[j], 0));
		labels[r] = scores.indexOf(Math.max(...scores));
	}
	return { count, images, labels };
}

/** A smooth non-linear target of the same features, roughly standardised. */
function curved(count: number, seed: number): LabelledData {
	const images = normals(count * FEATURES, seed);
	const labels = new Float32Array(count);
	for (let r = 0; r < count; r++) {
		const [a, b, c, d] = images.subarray(r * FEATURES, (r + 1) * FEATURES);
		labels[r] = 0.8 * a - 0.5 * b + 0.6 * Math.tanh(c * d);
	}
	return { count, images, labels };
}

/** Windows of a sine with period 20 (and a slower one), predicting the next 2 values. */
function sineWindows(window: number, horizon: number, count: number, offset: number): LabelledData {
	const value = (t: number) => Math.sin((2 * Math.PI * t) / 20) + 0.3 * Math.sin((2 * Math.PI * t) / 53);
	const images = new Float32Array(count * window);
	const labels = new Float32Array(count * horizon);
	for (let r = 0; r < count; r++) {
		for (let i = 0; i < window; i++) images[r * window + i] = value(offset + r + i);
		for (let h = 0; h < horizon; h++) labels[r * horizon + h] = value(offset + r + window + h);
	}
	return { count, images, labels };
}

async function trainAndScore(spec: ModelSpec, train: LabelledData, test: LabelledData, hp: { localEpochs: number; batchSize: number; learningRate: number }) {
	const model = buildModel(tf, spec, 1);
	try {
		const before = await evaluateHoldOut(tf, model, test, spec.objective);
		const tensors = tf.memory().numTensors;
		const result = await trainLocal(tf, model, train, hp, { seed: 2, objective: spec.objective });
		const after = await evaluateHoldOut(tf, model, test, spec.objective);
		// Nothing of training or evaluation stays behind.
		expect(tf.memory().numTensors).toBe(tensors);
		return { before, after, result };
	} finally {
		model.dispose();
	}
}

describe('tabular classification', () => {
	const train = separable(600, 1);
	const test = separable(300, 2);
	const task = tabular({ type: 'classification', classes: ['a', 'b', 'c'] });

	it('logistic regression goes from chance to 95% hold-out accuracy on a linearly separable set (98.3% here)', async () => {
		const { before, after, result } = await trainAndScore(modelSpec('logistic', task), train, test, { localEpochs: 10, batchSize: 16, learningRate: 0.3 });
		expect(before.classification!.correct / test.count).toBeLessThan(0.5);
		expect(after.classification!.correct / test.count).toBeGreaterThanOrEqual(0.95);
		expect(after.loss).toBeLessThan(before.loss * 0.2);
		expect(result.accuracy).toBeGreaterThanOrEqual(0.95);
	});

	it('the tabular MLP reaches 95% hold-out accuracy on it too (97.3% here)', async () => {
		const { after, result } = await trainAndScore(modelSpec('mlp', task), train, test, { localEpochs: 10, batchSize: 16, learningRate: 0.1 });
		expect(after.classification!.correct / test.count).toBeGreaterThanOrEqual(0.95);
		expect(result.accuracy).toBeGreaterThanOrEqual(0.95);
	});
});

describe('tabular regression', () => {
	it('the MLP with MSE cuts the hold-out MSE at least 20-fold (1.05 to 0.009 here); accuracy is null', async () => {
		const task = tabular({ type: 'regression', loss: 'mse' });
		const { before, after, result } = await trainAndScore(modelSpec('mlp', task), curved(600, 3), curved(300, 4), { localEpochs: 15, batchSize: 16, learningRate: 0.05 });
		expect(result.accuracy).toBeNull();
		expect(after.loss).toBeLessThan(before.loss / 20);
		expect(after.regression!.squaredErrorSum / after.regression!.values).toBeCloseTo(after.loss, 10);
	});

	it('logistic (linear) regression with MAE lowers the hold-out MAE (1.20 to 0.26 here)', async () => {
		const task = tabular({ type: 'regression', loss: 'mae' });
		const { before, after } = await trainAndScore(modelSpec('logistic', task), curved(600, 3), curved(300, 4), { localEpochs: 10, batchSize: 16, learningRate: 0.05 });
		expect(after.loss).toBeLessThan(before.loss * 0.3);
		expect(after.regression!.absErrorSum / after.regression!.values).toBeCloseTo(after.loss, 10);
	});
});

describe('time series', () => {
	const task: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['v'], target: 'v', window: 16, horizon: 2, loss: 'mse' };
	const train = sineWindows(16, 2, 200, 0);
	const test = sineWindows(16, 2, 60, 230);
	const hp = { localEpochs: 4, batchSize: 16, learningRate: 0.05 };

	it('the GRU trains on wasm and 52 steps cut its forecast MSE at least 2.5-fold (0.55 to 0.17 here)', async () => {
		expect(tf.getBackend()).toBe('wasm');
		const { before, after } = await trainAndScore(modelSpec('gru', task), train, test, hp);
		expect(after.loss).toBeLessThan(before.loss / 2.5);
	});

	it('the 1-D CNN trains on cpu (wasm lacks Conv2DBackpropFilter); 52 steps cut its forecast MSE 2.5-fold (0.53 to 0.08 here)', async () => {
		expect(await tf.setBackend('cpu')).toBe(true);
		const { before, after } = await trainAndScore(modelSpec('conv1d', task), train, test, hp);
		expect(after.loss).toBeLessThan(before.loss / 2.5);
	});
});
