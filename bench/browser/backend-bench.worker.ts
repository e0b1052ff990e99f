/// <reference types="vite/client" />
// The device-benchmark page's worker. Set up like src/lib/worker/trainer.worker.ts (same wasm
// paths, threads off, webgpu registered), but it pins each backend in turn, which the trainer
// worker's API cannot do: its init() always calibrates and keeps the fastest.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { probeWebGpuAdapter, type Tf } from '@qflare/trainer';
import { timeSteps, type BenchModel, type StepTimingOptions } from './step-timing';

setWasmPaths({
	'tfjs-backend-wasm.wasm': wasmUrl,
	'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
	'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl
});
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

const api = {
	async adapter() {
		const gpu = (globalThis as { navigator?: { gpu?: Parameters<typeof probeWebGpuAdapter>[0] } }).navigator?.gpu ?? null;
		return probeWebGpuAdapter(gpu);
	},
	async time(model: BenchModel, backend: string, options: StepTimingOptions) {
		return timeSteps(tf as unknown as Tf, model, backend, options);
	}
};
export type BackendBenchApi = typeof api;
Comlink.expose(api);
