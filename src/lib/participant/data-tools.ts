import * as Comlink from 'comlink';
import type { ImageClassificationTask, TabularTask, TimeSeriesTask } from '@qflare/protocol';
import { createTrainer, type TrainerHandle } from '../worker/create-trainer';
import type { ImportOutcome, ImportProgress, ImportSplit, PickedFile, PredictJob, PredictOutcome } from '../worker/trainer-api';

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

	importCsv(projectId: string, file: File, task: TabularTask | TimeSeriesTask, split: ImportSplit, onProgress: (p: ImportProgress) => void): Promise<ImportOutcome> {
		return this.api().importCsv(projectId, file, task, split, Comlink.proxy(onProgress));
	}

	importImages(
		projectId: string,
		files: PickedFile[],
		labelsCsv: File | null,
		task: ImageClassificationTask,
		split: ImportSplit,
		onProgress: (p: ImportProgress) => void
	): Promise<ImportOutcome> {
		return this.api().importImages(projectId, files, labelsCsv, task, split, Comlink.proxy(onProgress));
	}

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
