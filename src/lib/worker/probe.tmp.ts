// THROWAWAY probe, deleted after the browser check.
import * as Comlink from 'comlink';
import { MODEL_SPECS, syntheticDigits } from '@qflare/trainer';
import type { TrainerWorkerApi } from './trainer-api';
import { createTrainer } from './create-trainer';

export async function run(model: 'mlp' | 'cnn', form: 'lib' | 'helper') {
	const t0 = performance.now();
	let api: Comlink.Remote<TrainerWorkerApi>;
	let worker: Worker | null = null;
	if (form === 'lib') {
		worker = new Worker(new URL('$lib/worker/trainer.worker.ts', import.meta.url), { type: 'module' });
		worker.addEventListener('error', (e) => console.log('worker error', e.message));
		api = Comlink.wrap<TrainerWorkerApi>(worker);
	} else {
		api = createTrainer().api;
	}
	const spec = MODEL_SPECS[model];
	const choice = await api.init(spec, 32, 1);
	const initMs = performance.now() - t0;
	const w0 = await api.initialWeights();
	const data = syntheticDigits(model === 'mlp' ? 640 : 64, 1);
	const test = syntheticDigits(200, 2);
	const before = await api.evaluate(w0.slice(0), test);
	let progress = 0;
	const g = new Float32Array(w0.slice(0));
	const t1 = performance.now();
	const upd = await api.train(w0, data, { localEpochs: 1, batchSize: 32, learningRate: 0.1 }, Comlink.proxy(() => void progress++));
	const trainWall = performance.now() - t1;
	const delta = new Float32Array(upd.delta);
	const after = await api.evaluate(g.map((x, i) => x + delta[i]).buffer, test);
	worker?.terminate();
	return {
		crossOriginIsolated: self.crossOriginIsolated,
		choice, initMs: Math.round(initMs), w0Detached: w0.byteLength === 0,
		train: { steps: upd.steps, trainMs: Math.round(upd.trainMs), msPerStep: +(upd.trainMs / upd.steps).toFixed(1), wall: Math.round(trainWall), loss: upd.loss, accuracy: upd.accuracy, backend: upd.backend, deltaLen: delta.length },
		progress, before, after
	};
}
