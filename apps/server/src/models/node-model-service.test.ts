import { describe, expect, it } from 'vitest';
import { demoTask, type TaskSchema } from '@qflare/protocol';
import { LocalTrainer, MODEL_SPECS, modelSpec, parameterCount } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import { NodeModelService } from './node-model-service';
import { layersModelJson } from './layers-artifacts';

const tabular: TaskSchema = {
	kind: 'tabular',
	features: [
		{ name: 'age', type: 'numeric' },
		{ name: 'site', type: 'categorical', values: ['a', 'b', 'c'] }
	],
	target: 'y',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};
const series: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['v', 'w'], target: 'v', window: 6, horizon: 2, loss: 'mae' };

describe('NodeModelService', () => {
	it('sizes and initialises the model of any task, seeded, and refuses a model that does not fit', async () => {
		const service = new NodeModelService();
		expect(service.parameterCount('mlp', demoTask('mnist'))).toBe(199_210);
		expect(service.parameterCount('cnn', demoTask('fashion-mnist'))).toBe(1_663_370);
		expect(service.parameterCount('logistic', tabular)).toBe(4 * 2 + 2);
		expect(service.parameterCount('gru', series)).toBe(parameterCount(modelSpec('gru', series)));
		expect(() => service.parameterCount('gru', tabular)).toThrow(/model gru does not fit a tabular task; it takes logistic, mlp/);

		const a = await service.initialWeights('gru', series, 4);
		expect(a.length).toBe(parameterCount(modelSpec('gru', series)));
		expect(await service.initialWeights('gru', series, 4)).toEqual(a);
		expect(await service.initialWeights('gru', series, 5)).not.toEqual(a);
		// The same weights the participants' trainer starts from.
		const { tf } = await initNodeTf();
		const reference = new LocalTrainer(tf);
		reference.prepare(MODEL_SPECS.mlp, 9);
		expect(await service.initialWeights('mlp', demoTask('mnist'), 9)).toEqual(reference.weights());
		reference.dispose();
	});

	it('predicts probabilities for a tabular classifier and standardised values for a forecaster', async () => {
		const service = new NodeModelService();
		const { tf } = await initNodeTf();
		const trainer = new LocalTrainer(tf);
		for (const [model, task, count] of [['logistic', tabular, 3], ['gru', series, 2]] as const) {
			const spec = modelSpec(model, task);
			const weights = await service.initialWeights(model, task, 2);
			const size = spec.inputShape.reduce((x, y) => x * y, 1);
			const inputs = new Float32Array(count * size).map((_, i) => Math.sin(i));
			const out = await service.predict(model, task, weights, inputs, count);
			trainer.prepare(spec, 0);
			expect(out).toEqual(await trainer.predict(weights, inputs, count));
			// Two classes, or a horizon of two.
			expect(out.length).toBe(count * 2);
		}
		trainer.dispose();
		const probs = await service.predict('logistic', tabular, await service.initialWeights('logistic', tabular, 2), Float32Array.from([0.3, 1, 0, 0]), 1);
		expect(probs[0] + probs[1]).toBeCloseTo(1, 6);
		await expect(service.predict('logistic', tabular, new Float32Array(10), new Float32Array(3), 1)).rejects.toThrow(/images has 3 values, expected 1 x 4/);
	});

	it('keeps each call\'s weights when calls on one architecture overlap', async () => {
		// The service shares one built model per architecture and swaps weights in; predict awaits
		// between batches, so a second call must not swap its weights in under the first.
		const service = new NodeModelService();
		const count = 1_000;
		const inputs = new Float32Array(count * 4).map((_, i) => Math.sin(i));
		const weightsA = await service.initialWeights('logistic', tabular, 1);
		const weightsB = await service.initialWeights('logistic', tabular, 2);
		const alone = [await service.predict('logistic', tabular, weightsA, inputs, count), await service.predict('logistic', tabular, weightsB, inputs, count)];
		const together = await Promise.all([
			service.predict('logistic', tabular, weightsA, inputs, count),
			service.predict('logistic', tabular, weightsB, inputs, count)
		]);
		expect(together[0]).toEqual(alone[0]);
		expect(together[1]).toEqual(alone[1]);
	});

	it('evaluates demo weights on the test split as before', async () => {
		const service = new NodeModelService();
		const r = await service.evaluate('mlp', 'mnist', await service.initialWeights('mlp', demoTask('mnist'), 1));
		expect(r.accuracy).toBeGreaterThanOrEqual(0);
		expect(r.accuracy).toBeLessThan(0.3);
		expect(r.loss).toBeGreaterThan(1.5);
		expect(r.loss).toBeLessThan(4);
	});
});

describe('layersModelJson', () => {
	it('describes the task\'s model, so tfjs loads it with the stored weights and predicts as the server does', async () => {
		const { tf } = await initNodeTf();
		const service = new NodeModelService();
		for (const [model, task] of [['gru', series], ['logistic', tabular]] as const) {
			const json = await layersModelJson(model, task);
			const weights = await service.initialWeights(model, task, 3);
			const manifest = json.weightsManifest[0];
			expect(manifest.paths).toEqual(['weights.bin']);
			const loaded = await tf.loadLayersModel(
				tf.io.fromMemory({
					modelTopology: json.modelTopology as object,
					weightSpecs: manifest.weights as import('@tensorflow/tfjs').io.WeightsManifestEntry[],
					weightData: weights.slice().buffer
				})
			);
			const spec = modelSpec(model, task);
			const count = 2;
			const size = spec.inputShape.reduce((x, y) => x * y, 1);
			const inputs = new Float32Array(count * size).map((_, i) => Math.cos(i));
			const fromJson = loaded.predict(tf.tensor(inputs, [count, ...spec.inputShape])) as ReturnType<typeof tf.tensor>;
			const expected = await service.predict(model, task, weights, inputs, count);
			const got = (await fromJson.data()) as Float32Array;
			expect(got.length).toBe(expected.length);
			got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
			tf.dispose(fromJson);
			loaded.dispose();
		}
		expect(() => layersModelJson('cnn-small', series)).toThrow(/model cnn-small does not fit a time-series task/);
	});
});
