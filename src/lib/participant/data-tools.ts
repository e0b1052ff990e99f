import * as Comlink from 'comlink';
import { createTrainer, type TrainerHandle } from '../worker/create-trainer';
import type { PredictJob, PredictOutcome, TrainerWorkerApi } from '../worker/trainer-api';

/**
 * The page's second worker, for importing data and trying the model: parsing and decoding never
 * block the page, and a prediction never touches the model the session is training. Started on
 * first use.
 */
export class DataTools {
	private handle: TrainerHandle | null = null;

	private api() {
		this.handle ??= createTrainer();
		return this.handle.api;
	}

	// The worker's own signatures; the progress callback goes as a Comlink proxy, to be called back.
	importCsv: TrainerWorkerApi['importCsv'] = (projectId, file, task, split, onProgress) =>
		this.api().importCsv(projectId, file, task, split, onProgress && Comlink.proxy(onProgress));

	importImages: TrainerWorkerApi['importImages'] = (projectId, files, labelsCsv, task, split, onProgress) =>
		this.api().importImages(projectId, files, labelsCsv, task, split, onProgress && Comlink.proxy(onProgress));

	/** `weights` is copied: the caller keeps its global model. */
	predict(job: Omit<PredictJob, 'weights'> & { weights: Float32Array }): Promise<PredictOutcome> {
		const weights = job.weights.slice().buffer as ArrayBuffer;
		return this.api().predict(Comlink.transfer({ ...job, weights }, [weights]));
	}

	dispose(): void {
		this.handle?.terminate();
		this.handle = null;
	}
}
