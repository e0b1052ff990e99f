import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { MODEL_SPECS, modelSpec } from './spec';
import { buildModel } from './model';
import { flattenWeights } from './weights';
import { evaluate, trainLocal, type TrainProgress } from './train';
import { holdOut, LocalTrainer } from './local-trainer';
import { syntheticDigits } from './synthetic';

let tf: Tf;
let backend: string;
beforeAll(async () => {
	({ tf, backend } = await initNodeTf());
});

const train = syntheticDigits(300, 1);
const test = syntheticDigits(100, 2);
const hp = { localEpochs: 2, batchSize: 20, learningRate: 0.1 };

describe('trainLocal', () => {
	it('runs on the wasm backend in Node', () => {
		expect(backend).toBe('wasm');
		expect(tf.getBackend()).toBe('wasm');
	});

	it('lowers the loss with seeded SGD and reports progress per batch', async () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 1);
		const before = await evaluate(tf, model, test);
		const progress: TrainProgress[] = [];
		const result = await trainLocal(tf, model, train, hp, { seed: 5, onProgress: (p) => void progress.push(p) });
		const after = await evaluate(tf, model, test);
		expect(result.numSamples).toBe(300);
		expect(result.steps).toBe(2 * 15);
		expect(progress).toHaveLength(30);
		expect(progress.at(-1)).toMatchObject({ epoch: 2, epochs: 2, batch: 15, batches: 15 });
		expect(after.loss).toBeLessThan(before.loss * 0.5);
		expect(after.accuracy).toBeGreaterThan(0.9);
		expect(result.accuracy).toBeGreaterThan(0.8);
		expect(result.trainMs).toBeGreaterThan(0);
		model.dispose();
	});

	it('is reproducible for the same seed and weights', async () => {
		const runs = [];
		for (let i = 0; i < 2; i++) {
			const model = buildModel(tf, MODEL_SPECS.mlp, 1);
			await trainLocal(tf, model, train, { ...hp, localEpochs: 1 }, { seed: 9 });
			runs.push(flattenWeights(model));
			model.dispose();
		}
		expect(runs[0]).toEqual(runs[1]);
	});

	it('keeps no tensors across two trainings and an evaluation', async () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 1);
		const before = tf.memory().numTensors;
		await trainLocal(tf, model, train, { ...hp, localEpochs: 1 }, { seed: 1 });
		await trainLocal(tf, model, train, { ...hp, localEpochs: 1 }, { seed: 2, proximal: { mu: 0.1, global: flattenWeights(model) } });
		await evaluate(tf, model, test, 64);
		expect(tf.memory().numTensors).toBe(before);
		model.dispose();
	});

	it('applies the FedProx term: larger mu keeps the weights closer to the global model', async () => {
		const drift = async (mu: number) => {
			const model = buildModel(tf, MODEL_SPECS.mlp, 1);
			const global = flattenWeights(model);
			await trainLocal(tf, model, train, { ...hp, localEpochs: 1 }, { seed: 3, proximal: { mu, global } });
			const local = flattenWeights(model);
			model.dispose();
			return Math.hypot(...local.map((w, i) => w - global[i]).filter((_, i) => i % 97 === 0));
		};
		const plain = await drift(0);
		const prox = await drift(5);
		expect(prox).toBeLessThan(plain * 0.9);
		expect(prox).toBeGreaterThan(0);
	});

	it('rejects data that does not fit the model', async () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 1);
		await expect(trainLocal(tf, model, { count: 2, images: new Uint8Array(784), labels: new Uint8Array(2) }, hp, { seed: 1 })).rejects.toThrow(/expected 2 x 784/);
		await expect(trainLocal(tf, model, { count: 1, images: new Uint8Array(784), labels: new Float32Array(1) }, hp, { seed: 1 })).rejects.toThrow(/classification labels must be a Uint8Array/);
		await expect(trainLocal(tf, model, { count: 1, images: new Uint8Array(784), labels: Uint8Array.from([10]) }, hp, { seed: 1 })).rejects.toThrow(/label 10 at 0 is not below 10/);
		model.dispose();
	});

	it('trains a regression model only with its objective, and keeps no tensors doing so', async () => {
		const spec = modelSpec('mlp', { kind: 'tabular', features: [{ name: 'a', type: 'numeric' }, { name: 'b', type: 'numeric' }], target: 'y', objective: { type: 'regression', loss: 'mae' } });
		const model = buildModel(tf, spec, 1);
		const images = new Float32Array(40).map((_, i) => Math.cos(i));
		const data = { count: 20, images, labels: new Float32Array(20).map((_, r) => images[2 * r] - images[2 * r + 1]) };
		await expect(trainLocal(tf, model, data, hp, { seed: 1 })).rejects.toThrow(/does not end in softmax: pass the objective/);
		const before = tf.memory().numTensors;
		const first = await trainLocal(tf, model, data, { ...hp, localEpochs: 1 }, { seed: 1, objective: spec.objective });
		const second = await trainLocal(tf, model, data, { ...hp, localEpochs: 3 }, { seed: 2, objective: spec.objective, proximal: { mu: 0.1, global: flattenWeights(model) } });
		expect(tf.memory().numTensors).toBe(before);
		expect(first.accuracy).toBeNull();
		expect(second.loss).toBeLessThan(first.loss);
		await expect(evaluate(tf, model, data)).rejects.toThrow(/evaluate reports accuracy of a classifier/);
		model.dispose();
	});
});

describe('evaluate', () => {
	it('returns a finite cross-entropy near ln(10) and an accuracy in [0, 1] for a fresh model', async () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 4);
		const r = await evaluate(tf, model, test, 33);
		expect(r.loss).toBeGreaterThan(1);
		expect(r.loss).toBeLessThan(5);
		expect(r.accuracy).toBeGreaterThanOrEqual(0);
		expect(r.accuracy).toBeLessThanOrEqual(1);
		// Batching does not change the result.
		const whole = await evaluate(tf, model, test, 1000);
		expect(whole.loss).toBeCloseTo(r.loss, 4);
		expect(whole.accuracy).toBe(r.accuracy);
		model.dispose();
	});
});

describe('LocalTrainer', () => {
	it('returns delta = local - global and evaluates given weights', async () => {
		const trainer = new LocalTrainer(tf);
		trainer.prepare(MODEL_SPECS.mlp, 11);
		const global = trainer.weights();
		const tensors = tf.memory().numTensors;
		const update = await trainer.train(global, train, hp);
		const local = trainer.weights();
		expect(update.delta.length).toBe(199_210);
		expect(update.delta).toEqual(local.map((w, i) => w - global[i]));
		expect(update.delta.some((d) => d !== 0)).toBe(true);
		expect(update.numSamples).toBe(300);
		expect(update.loss).toBeLessThan(1);
		const atGlobal = await trainer.evaluate(global, test);
		const atLocal = await trainer.evaluate(local, test);
		expect(atLocal.loss).toBeLessThan(atGlobal.loss);
		expect(tf.memory().numTensors).toBe(tensors);
		trainer.dispose();
	});
});

describe('LocalTrainer client plan', () => {
	it('clips the delta to clipNorm (DP-FedAvg) and holds out a validation share (PerfFedAvg)', async () => {
		const trainer = new LocalTrainer(tf);
		trainer.prepare(MODEL_SPECS.mlp, 11);
		const global = trainer.weights();
		const update = await trainer.train(global, train, { ...hp, clipNorm: 0.5, validationFraction: 0.2, seed: 3 });
		let norm = 0;
		for (const d of update.delta) norm += d * d;
		expect(Math.sqrt(norm)).toBeLessThanOrEqual(0.5 + 1e-6);
		expect(update.clipped).toBe(true);
		expect(update.numSamples).toBe(240);
		expect(update.valAccuracy).toBeGreaterThanOrEqual(0);
		expect(update.valAccuracy).toBeLessThanOrEqual(1);
		const unclipped = await trainer.train(global, train, { ...hp, seed: 3 });
		expect(unclipped.clipped).toBe(false);
		expect(unclipped.valAccuracy).toBeUndefined();
		trainer.dispose();
	});

	it('holds out no accuracy for a regression model (PerfFedAvg needs a classifier)', async () => {
		const spec = modelSpec('logistic', { kind: 'tabular', features: [{ name: 'a', type: 'numeric' }], target: 'y', objective: { type: 'regression', loss: 'mse' } });
		const trainer = new LocalTrainer(tf);
		trainer.prepare(spec, 1);
		const data = { count: 10, images: new Float32Array(10).map((_, i) => i / 10), labels: new Float32Array(10).map((_, i) => i / 5) };
		const update = await trainer.train(trainer.weights(), data, { ...hp, validationFraction: 0.2, seed: 1 });
		expect(update.numSamples).toBe(8);
		expect(update.accuracy).toBeNull();
		expect(update.valAccuracy).toBeUndefined();
		trainer.dispose();
	});

	it('holdOut splits regression targets by row width', () => {
		const data = { count: 4, images: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), labels: Float32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]) };
		const { train: kept, validation } = holdOut(data, 0.25);
		expect(kept).toEqual({ count: 3, images: Float32Array.from([1, 2, 3, 4, 5, 6]), labels: Float32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18]) });
		expect(validation).toEqual({ count: 1, images: Float32Array.from([7, 8]), labels: Float32Array.from([19, 20, 21]) });
	});

	it('holdOut splits off the tail and leaves tiny sets whole', () => {
		const { train: kept, validation } = holdOut(train, 0.1);
		expect(kept.count).toBe(270);
		expect(validation?.count).toBe(30);
		expect(validation?.labels[0]).toBe(train.labels[270]);
		expect(validation?.images.length).toBe(30 * 784);
		expect(holdOut(syntheticDigits(5, 1), 0.1).validation).toBeNull();
	});
});
