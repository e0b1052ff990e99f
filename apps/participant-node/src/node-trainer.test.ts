import { describe, expect, it } from 'vitest';
import { LocalTrainer, MODEL_SPECS, modelSpec, syntheticDigits, type LabelledData } from '@qflare/trainer';
import { demoTask, type TabularTask } from '@qflare/protocol';
import { nodeBackendFor } from './node-backend';
import { NodeTrainer } from './node-trainer';

const mnist = demoTask('mnist');
const data: LabelledData = syntheticDigits(96, 3);
const hp = { localEpochs: 2, batchSize: 16, learningRate: 0.1, proximalMu: 0, clipNorm: null, validationFraction: 0, seed: 11 };

describe('NodeTrainer', () => {
	it('trains the MLP on wasm, yields between batches, and matches LocalTrainer', async () => {
		const trainer = new NodeTrainer();
		expect(await trainer.init('mlp', mnist, 16, 5)).toMatchObject({ backend: 'wasm' });
		const reference = new LocalTrainer((await nodeBackendFor(MODEL_SPECS.mlp)).tf);
		reference.prepare(MODEL_SPECS.mlp, 5);
		const global = reference.weights();

		let ticks = 0;
		const ticker = setInterval(() => ticks++, 0);
		const progress: number[] = [];
		const ours = await trainer.train(global, data, hp, (p) => progress.push(p.batch));
		clearInterval(ticker);
		const theirs = await reference.train(global, data, hp);
		reference.dispose();
		trainer.dispose();

		expect(ours.steps).toBe(12);
		expect(progress).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
		// Timers ran while training: other participants and the socket get the thread.
		expect(ticks).toBeGreaterThanOrEqual(6);
		expect(ours.delta.length).toBe(theirs.delta.length);
		let maxDiff = 0;
		for (let i = 0; i < ours.delta.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.delta[i] - theirs.delta[i]));
		expect(maxDiff).toBeLessThan(1e-4);
		expect(ours.loss).toBeCloseTo(theirs.loss, 4);
		expect(ours.accuracy).not.toBeNull();
		expect(ours.accuracy!).toBeCloseTo(theirs.accuracy!, 6);
	});

	it('clips the delta to the DP clip norm before it leaves the device', async () => {
		const trainer = new NodeTrainer();
		await trainer.init('mlp', mnist, 16, 5);
		const reference = new LocalTrainer((await nodeBackendFor(MODEL_SPECS.mlp)).tf);
		reference.prepare(MODEL_SPECS.mlp, 5);
		const global = reference.weights();
		reference.dispose();
		const { delta } = await trainer.train(global, data, { ...hp, localEpochs: 1, clipNorm: 0.05 }, () => undefined);
		trainer.dispose();
		expect(Math.hypot(...delta.subarray(0, 100_000)) ** 2 + Math.hypot(...delta.subarray(100_000)) ** 2).toBeLessThanOrEqual(0.05 ** 2 * 1.0001);
	});

	it('builds the task\'s model, trains a tabular regression and scores its hold-out like LocalTrainer', async () => {
		const task: TabularTask = {
			kind: 'tabular',
			features: [{ name: 'a', type: 'numeric' }, { name: 'b', type: 'numeric' }],
			target: 'y',
			objective: { type: 'regression', loss: 'mse' }
		};
		const rows = 64;
		const images = new Float32Array(rows * 2).map((_, i) => Math.sin(i * 1.7));
		const labels = new Float32Array(rows).map((_, r) => 0.5 * images[2 * r] - images[2 * r + 1]);
		const table: LabelledData = { count: rows, images, labels };
		const trainer = new NodeTrainer();
		expect(await trainer.init('logistic', task, 16, 2)).toMatchObject({ backend: 'wasm' });
		const reference = new LocalTrainer((await nodeBackendFor(modelSpec('logistic', task))).tf);
		reference.prepare(modelSpec('logistic', task), 2);
		const global = reference.weights();
		expect(global.length).toBe(3);
		const update = await trainer.train(global, table, { ...hp, localEpochs: 3 }, () => undefined);
		expect(update.accuracy).toBeNull();
		const local = global.map((w, i) => w + update.delta[i]);
		const scale = { mean: 10, std: 2 };
		const ours = await trainer.evaluateHoldOut(local, table, scale);
		expect(ours).toEqual(await reference.evaluateHoldOut(local, table, scale));
		expect(ours.loss).toBeLessThan((await reference.evaluateHoldOut(global, table, scale)).loss);
		expect(ours.regression?.values).toBe(rows);
		reference.dispose();
		trainer.dispose();
	});

	it('moves the process to cpu for the CNN, whose conv gradients wasm lacks, and stays there', async () => {
		const cnn = await nodeBackendFor(MODEL_SPECS.cnn);
		expect(cnn.backend).toBe('cpu');
		expect(cnn.reason).toMatch(/wasm lacks .*Conv2DBackpropFilter/);
		expect((await nodeBackendFor(MODEL_SPECS.mlp)).backend).toBe('cpu');
	});
});
