/// <reference types="vite/client" />
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { LocalTrainer, chooseBackend } from '@qflare/trainer';
import { importCsv, importImages } from './local-import';
import { ownBuffer } from './own-buffer';
import { Predictor } from './predictor';
import type { TrainerWorkerApi, WorkerUpdate } from './trainer-api';

// Vite fingerprints the .wasm files; tfjs must be told where each one went.
setWasmPaths({
	'tfjs-backend-wasm.wasm': wasmUrl,
	'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
	'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl
});
// Threads gained 0-8% in our measurements and can hang backend init (FACTS.md); off everywhere.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

const CANDIDATES = ['webgpu', 'wasm', 'webgl', 'cpu'] as const;

const trainer = new LocalTrainer(tf);
let backend = '';
// Try the model: its own model, on the training backend when this worker also trains.
const predictor = new Predictor(tf, () => trainer.spec === null);

function f32(buffer: ArrayBuffer): Float32Array {
	if (buffer.byteLength % 4 !== 0) throw new RangeError(`weight buffer of ${buffer.byteLength} bytes is not float32`);
	return new Float32Array(buffer);
}

const api: TrainerWorkerApi = {
	async init(spec, batchSize, seed) {
		trainer.dispose();
		const choice = await chooseBackend(tf, spec, CANDIDATES, { batchSize, seed });
		backend = choice.backend;
		// Built after the choice so its variables live on the chosen backend.
		trainer.prepare(spec, seed);
		return choice;
	},
	async initialWeights() {
		const buf = ownBuffer(trainer.weights());
		return Comlink.transfer(buf, [buf]);
	},
	async train(globalWeights, data, hp, onProgress) {
		const { delta, ...metrics } = await trainer.train(f32(globalWeights), data, hp, onProgress);
		const buf = ownBuffer(delta);
		const update: WorkerUpdate = { ...metrics, delta: buf, backend };
		return Comlink.transfer(update, [buf]);
	},
	async evaluate(weights, data) {
		return trainer.evaluate(f32(weights), data);
	},
	async evaluateHoldOut(weights, data, targetScale) {
		return trainer.evaluateHoldOut(f32(weights), data, targetScale);
	},
	async dispose() {
		trainer.dispose();
		predictor.dispose();
	},
	importCsv,
	importImages,
	async predict(job) {
		return predictor.predict(job);
	}
};

Comlink.expose(api);
