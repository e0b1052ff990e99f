import * as Comlink from 'comlink';
import type { TrainerWorkerApi } from './trainer-api';

export type TrainerHandle = { api: Comlink.Remote<TrainerWorkerApi>; terminate(): void };

/** Starts a trainer worker; the page passes onProgress callbacks through Comlink.proxy. */
export function createTrainer(): TrainerHandle {
	// Vite reads the worker options statically: no variables in them.
	const worker = new Worker(new URL('./trainer.worker.ts', import.meta.url), { type: 'module', name: 'qflare-trainer' });
	const api = Comlink.wrap<TrainerWorkerApi>(worker);
	return {
		api,
		terminate() {
			api[Comlink.releaseProxy]();
			worker.terminate();
		}
	};
}
