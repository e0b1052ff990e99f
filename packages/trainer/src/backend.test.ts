import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { MODEL_SPECS } from './spec';
import { chooseBackend, missingKernels, probeWebGpuAdapter, type GpuLike } from './backend';

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

	it('fails with the reasons when nothing can train', async () => {
		await expect(chooseBackend(tf, MODEL_SPECS.cnn, ['wasm', 'webgl'], { batchSize: 2 })).rejects.toThrow(/no backend can train cnn: wasm missing kernel.*webgl not registered/);
		await tf.setBackend('wasm');
	});
});
