import * as Comlink from 'comlink';
import { MODEL_SPECS } from '@qflare/trainer';
import type { LabelledSet, ModelName, TrainingHyperparams } from '@qflare/protocol';
import type { TrainerApi } from '../worker/trainer-api';
import type { Calibration, LocalProgress, LocalTrainResult, SessionTrainer } from './ports';

/** SessionTrainer backed by the tfjs Web Worker, so training never blocks the page. */
export class WorkerTrainer implements SessionTrainer {
	private worker: Worker | null = null;
	private api: Comlink.Remote<TrainerApi> | null = null;

	private remote(): Comlink.Remote<TrainerApi> {
		if (!this.api) {
			this.worker = new Worker(new URL('../worker/trainer.worker.ts', import.meta.url), { type: 'module' });
			this.api = Comlink.wrap<TrainerApi>(this.worker);
		}
		return this.api;
	}

	async init(model: ModelName, batchSize: number, seed: number): Promise<Calibration> {
		const { backend, reason } = await this.remote().init(MODEL_SPECS[model], batchSize, seed);
		return { backend, reason };
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledSet,
		hyperparams: TrainingHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult> {
		// The decoded weights own their buffer: hand it over instead of copying it.
		const buffer =
			globalWeights.byteOffset === 0 && globalWeights.byteLength === globalWeights.buffer.byteLength
				? (globalWeights.buffer as ArrayBuffer)
				: (globalWeights.slice().buffer as ArrayBuffer);
		const result = await this.remote().train(
			Comlink.transfer(buffer, [buffer]),
			data,
			hyperparams,
			Comlink.proxy((p: LocalProgress) => onProgress(p))
		);
		return {
			delta: new Float32Array(result.delta),
			numSamples: result.numSamples,
			steps: result.steps,
			loss: result.loss,
			accuracy: result.accuracy,
			trainMs: result.trainMs
		};
	}

	dispose(): void {
		this.api?.[Comlink.releaseProxy]();
		this.worker?.terminate();
		this.api = null;
		this.worker = null;
	}
}
