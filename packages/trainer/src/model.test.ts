import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { MODELS_FOR_TASK, type TaskSchema } from '@qflare/protocol';
import { MODEL_SPECS, modelSpec, parameterCount, parameterSegments } from './spec';
import { buildModel } from './model';
import { flattenWeights, setFlatWeights, weightSizes } from './weights';

let tf: Tf;
beforeAll(async () => {
	({ tf } = await initNodeTf());
});

describe('buildModel', () => {
	it('builds models whose tfjs parameter count matches the spec', () => {
		for (const spec of [MODEL_SPECS.mlp, MODEL_SPECS.cnn]) {
			const model = buildModel(tf, spec, 7);
			expect(model.countParams()).toBe(parameterCount(spec));
			expect(flattenWeights(model).length).toBe(parameterCount(spec));
			model.dispose();
		}
	});

	it('builds every zoo model for every task kind with the spec\'s parameter count (tfjs countParams)', () => {
		const tasks: TaskSchema[] = [
			{ kind: 'image-classification', classes: ['a', 'b', 'c'], width: 12, height: 10, channels: 3 },
			{ kind: 'tabular', features: [{ name: 'x', type: 'numeric' }, { name: 'c', type: 'categorical', values: ['p', 'q'] }], target: 'y', objective: { type: 'classification', classes: ['n', 'y'] } },
			{ kind: 'tabular', features: [{ name: 'x', type: 'numeric' }], target: 'y', objective: { type: 'regression', loss: 'mse' } },
			{ kind: 'time-series', timeColumn: 't', valueColumns: ['a', 'b', 'c'], target: 'b', window: 9, horizon: 4, loss: 'mae' },
			{ kind: 'time-series', timeColumn: 't', valueColumns: ['a'], target: 'a', window: 3, horizon: 1, loss: 'mse' }
		];
		for (const task of tasks) {
			for (const name of MODELS_FOR_TASK[task.kind]) {
				const spec = modelSpec(name, task);
				const model = buildModel(tf, spec, 7);
				expect({ task: task.kind, name, params: model.countParams() }).toEqual({ task: task.kind, name, params: parameterCount(spec) });
				expect(flattenWeights(model).length).toBe(parameterCount(spec));
				expect({ task: task.kind, name, sizes: weightSizes(model) }).toEqual({ task: task.kind, name, sizes: parameterSegments(spec) });
				model.dispose();
			}
		}
	});

	it('builds the GRU as tfjs does: kernel [in, 3u], recurrent kernel [u, 3u], one bias [3u]', () => {
		const spec = modelSpec('gru', { kind: 'time-series', timeColumn: 't', valueColumns: ['a', 'b'], target: 'a', window: 5, horizon: 2, loss: 'mse' });
		const model = buildModel(tf, spec, 1);
		expect(model.getWeights().map((w) => w.shape)).toEqual([[2, 96], [32, 96], [96], [32, 2], [2]]);
		expect(model.countParams()).toBe(3 * (32 * (2 + 32) + 32) + 32 * 2 + 2);
		// Kernel and recurrent kernel come from different streams.
		const [kernel, recurrent] = model.getWeights().map((w) => w.dataSync());
		expect(kernel.subarray(0, 8)).not.toEqual(recurrent.subarray(0, 8));
		const again = buildModel(tf, spec, 1);
		expect(flattenWeights(again)).toEqual(flattenWeights(model));
		[model, again].forEach((m) => m.dispose());
	});

	it('is deterministic for a seed and differs across seeds', () => {
		const [a, b, c] = [1, 1, 2].map((seed) => buildModel(tf, MODEL_SPECS.mlp, seed));
		const [wa, wb, wc] = [a, b, c].map(flattenWeights);
		expect(wa).toEqual(wb);
		expect(wa).not.toEqual(wc);
		// Layers get different streams: the two 200-wide kernels are not copies.
		expect(wa.subarray(157_000, 157_010)).not.toEqual(wa.subarray(157_200, 157_210));
		[a, b, c].forEach((m) => m.dispose());
	});
});

describe('flat weights', () => {
	it('round-trip through setFlatWeights in getWeights order', () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 3);
		const flat = flattenWeights(model).map((_, i) => Math.sin(i));
		const before = tf.memory().numTensors;
		setFlatWeights(tf, model, flat);
		expect(tf.memory().numTensors).toBe(before);
		expect(flattenWeights(model)).toEqual(flat);
		// First kernel is [784, 200], row-major: element (1, 0) is flat[200].
		expect(model.getWeights()[0].shape).toEqual([784, 200]);
		expect((model.getWeights()[0].arraySync() as number[][])[1][0]).toBeCloseTo(Math.sin(200), 6);
		model.dispose();
	});

	it('refuse a vector of the wrong length', () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 3);
		expect(() => setFlatWeights(tf, model, new Float32Array(199_209))).toThrow(/199209 values.*199210/);
		model.dispose();
	});
});
