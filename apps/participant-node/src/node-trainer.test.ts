import { describe, expect, it } from 'vitest';
import { LocalTrainer, MODEL_SPECS, syntheticDigits } from '@qflare/trainer';
import type { LabelledSet } from '@qflare/protocol';
import { nodeBackendFor } from './node-backend';
import { NodeTrainer } from './node-trainer';

const data: LabelledSet = { ...syntheticDigits(96, 3), width: 28, height: 28, numClasses: 10 };
const hp = { localEpochs: 2, batchSize: 16, learningRate: 0.1, proximalMu: 0, clipNorm: null, validationFraction: 0, seed: 11 };

describe('NodeTrainer', () => {
	it('trains the MLP on wasm, yields between batches, and matches LocalTrainer', async () => {
		const trainer = new NodeTrainer();
		expect(await trainer.init('mlp', 16, 5)).toMatchObject({ backend: 'wasm' });
		const reference = new LocalTrainer((await nodeBackendFor('mlp')).tf);
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
		expect(ours.accuracy).toBeCloseTo(theirs.accuracy, 6);
	});

	it('clips the delta to the DP clip norm before it leaves the device', async () => {
		const trainer = new NodeTrainer();
		await trainer.init('mlp', 16, 5);
		const reference = new LocalTrainer((await nodeBackendFor('mlp')).tf);
		reference.prepare(MODEL_SPECS.mlp, 5);
		const global = reference.weights();
		reference.dispose();
		const { delta } = await trainer.train(global, data, { ...hp, localEpochs: 1, clipNorm: 0.05 }, () => undefined);
		trainer.dispose();
		expect(Math.hypot(...delta.subarray(0, 100_000)) ** 2 + Math.hypot(...delta.subarray(100_000)) ** 2).toBeLessThanOrEqual(0.05 ** 2 * 1.0001);
	});

	it('moves the process to cpu for the CNN, whose conv gradients wasm lacks, and stays there', async () => {
		const cnn = await nodeBackendFor('cnn');
		expect(cnn.backend).toBe('cpu');
		expect(cnn.reason).toMatch(/wasm lacks .*Conv2DBackpropFilter/);
		expect((await nodeBackendFor('mlp')).backend).toBe('cpu');
	});
});
