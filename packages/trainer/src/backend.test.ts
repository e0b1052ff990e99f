import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { MODELS_FOR_TASK, type TaskSchema } from '@qflare/protocol';
import { MODEL_SPECS, inputSize, modelSpec, type ModelSpec } from './spec';
import { buildModel } from './model';
import { flattenWeights } from './weights';
import { trainLocal } from './train';
import { chooseBackend, missingKernels, probeWebGpuAdapter, requiredKernels, type GpuLike } from './backend';

let tf: Tf;
beforeAll(async () => {
	({ tf } = await initNodeTf());
});

const gpu = (info: object | null): GpuLike => ({ requestAdapter: async () => (info ? { info } : null) });

describe('probeWebGpuAdapter', () => {
	it('tells software adapters from hardware ones', async () => {
		expect((await probeWebGpuAdapter(null)).kind).toBe('none');
		expect((await probeWebGpuAdapter(gpu(null))).kind).toBe('none');
		expect(await probeWebGpuAdapter(gpu({ architecture: 'swiftshader', isFallbackAdapter: true }))).toEqual({
			kind: 'software',
			note: 'webgpu adapter is SwiftShader (software)'
		});
		expect((await probeWebGpuAdapter(gpu({ isFallbackAdapter: true, architecture: '' }))).kind).toBe('software');
		expect((await probeWebGpuAdapter(gpu({ vendor: 'nvidia', architecture: 'ada' }))).kind).toBe('hardware');
		const hang: GpuLike = { requestAdapter: () => new Promise(() => undefined) };
		expect((await probeWebGpuAdapter(hang, 20)).note).toMatch(/timed out/);
	});
});

const series: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['a', 'b'], target: 'a', window: 8, horizon: 2, loss: 'mse' };
const zooTasks: TaskSchema[] = [
	{ kind: 'image-classification', classes: ['a', 'b', 'c'], width: 8, height: 8, channels: 3 },
	{ kind: 'tabular', features: [{ name: 'x', type: 'numeric' }, { name: 'y', type: 'numeric' }], target: 't', objective: { type: 'classification', classes: ['n', 'y'] } },
	{ kind: 'tabular', features: [{ name: 'x', type: 'numeric' }], target: 't', objective: { type: 'regression', loss: 'mae' } },
	series
];

describe('requiredKernels', () => {
	it('lists every kernel a training step of each zoo model runs (profiled on cpu, with the FedProx term)', async () => {
		await tf.setBackend('cpu');
		try {
			for (const task of zooTasks) {
				for (const name of MODELS_FOR_TASK[task.kind]) {
					const spec: ModelSpec = modelSpec(name, task);
					const model = buildModel(tf, spec, 1);
					const o = spec.objective;
					const data = {
						count: 4,
						images: new Float32Array(4 * inputSize(spec)).map((_, i) => Math.sin(i)),
						labels: o.type === 'classification' ? Uint8Array.from([0, 1, 0, 1]) : new Float32Array(4 * o.outputs).fill(0.5)
					};
					const hp = { localEpochs: 1, batchSize: 4, learningRate: 0.1 };
					const profile = await tf.profile(async () => {
						await trainLocal(tf, model, data, hp, { seed: 1, objective: o, proximal: { mu: 0.1, global: flattenWeights(model) } });
						return [];
					});
					model.dispose();
					// Names ending in __op are ops (fused wrappers), not kernels.
					const ran = [...new Set(profile.kernelNames)].filter((k) => !k.endsWith('__op'));
					const required = requiredKernels(spec);
					expect({ model: `${task.kind} ${name}`, unlisted: ran.filter((k) => !required.includes(k)) }).toEqual({ model: `${task.kind} ${name}`, unlisted: [] });
				}
			}
		} finally {
			await tf.setBackend('wasm');
		}
	});

	it('says wasm can train the GRU and the dense models but not the 1-D or 2-D convolutions; cpu and webgl train all', () => {
		for (const task of zooTasks) {
			for (const name of MODELS_FOR_TASK[task.kind]) {
				const spec = modelSpec(name, task);
				const convolves = spec.layers.some((l) => l.type === 'conv1d' || l.type === 'conv2d');
				expect({ name, missing: missingKernels(tf, spec, 'wasm') }).toEqual({ name, missing: convolves ? ['Conv2DBackpropFilter'] : [] });
				expect(missingKernels(tf, spec, 'cpu')).toEqual([]);
				// @tensorflow/tfjs registers the webgl kernels even where no WebGL context exists.
				expect(missingKernels(tf, spec, 'webgl')).toEqual([]);
			}
		}
	});
});

describe('chooseBackend', () => {
	it('knows that wasm cannot train conv layers', () => {
		expect(missingKernels(tf, MODEL_SPECS.cnn, 'wasm')).toEqual(['Conv2DBackpropFilter']);
		expect(missingKernels(tf, MODEL_SPECS.cnn, 'cpu')).toEqual([]);
		expect(missingKernels(tf, MODEL_SPECS.mlp, 'wasm')).toEqual([]);
	});

	it('times the available Node backends for the MLP, keeps the fastest and says why', async () => {
		const before = tf.memory().numTensors;
		const choice = await chooseBackend(tf, MODEL_SPECS.mlp, ['webgpu', 'wasm', 'webgl', 'cpu'], { batchSize: 32, timedSteps: 2, gpu: null });
		expect(typeof choice.timings.wasm).toBe('number');
		expect(typeof choice.timings.cpu).toBe('number');
		expect(choice.timings.webgl).toBe('not registered');
		expect(choice.timings.webgpu).toBe('no WebGPU');
		const fastest = (choice.timings.wasm as number) <= (choice.timings.cpu as number) ? 'wasm' : 'cpu';
		expect(choice.backend).toBe(fastest);
		expect(tf.getBackend()).toBe(fastest);
		expect(choice.reason).toMatch(new RegExp(`^${fastest}: [\\d.]+ ms/step, fastest of ${fastest} [\\d.]+, \\w+ [\\d.]+; webgl not registered; no WebGPU$`));
		expect(tf.memory().numTensors).toBe(before);
	});

	it('skips a backend that lacks a kernel and stops timing one over the warm-up cap', async () => {
		const choice = await chooseBackend(tf, MODEL_SPECS.cnn, ['wasm', 'cpu'], { batchSize: 2, warmupCapMs: 1 });
		expect(choice.timings.wasm).toBe('missing kernel Conv2DBackpropFilter');
		expect(choice.timings.cpu).toMatch(/^warm-up \d+ ms > cap 1 ms$/);
		expect(choice.backend).toBe('cpu');
		expect(choice.reason).toMatch(/^cpu: every backend over the 1 ms warm-up cap/);
		await tf.setBackend('wasm');
	});

	it('skips wasm for the 1-D CNN with the missing kernel as reason, and times both for the GRU', async () => {
		const conv = await chooseBackend(tf, modelSpec('conv1d', series), ['wasm', 'cpu'], { batchSize: 8, timedSteps: 1 });
		expect(conv.timings.wasm).toBe('missing kernel Conv2DBackpropFilter');
		expect(conv.backend).toBe('cpu');
		expect(conv.reason).toMatch(/^cpu: [\d.]+ ms\/step; wasm missing kernel Conv2DBackpropFilter$/);
		const before = tf.memory().numTensors;
		const gru = await chooseBackend(tf, modelSpec('gru', series), ['wasm', 'cpu'], { batchSize: 8, timedSteps: 1 });
		expect(typeof gru.timings.wasm).toBe('number');
		expect(typeof gru.timings.cpu).toBe('number');
		expect(['wasm', 'cpu']).toContain(gru.backend);
		expect(tf.memory().numTensors).toBe(before);
		await tf.setBackend('wasm');
	});

	it('fails with the reasons when nothing can train', async () => {
		await expect(chooseBackend(tf, MODEL_SPECS.cnn, ['wasm', 'webgl'], { batchSize: 2 })).rejects.toThrow(/no backend can train cnn: wasm missing kernel.*webgl not registered/);
		await tf.setBackend('wasm');
	});
});
