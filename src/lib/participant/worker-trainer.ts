import * as Comlink from 'comlink';
import { MODEL_SPECS } from '@qflare/trainer';
import { BackendName, type LabelledSet, type ModelName } from '@qflare/protocol';
import type { TrainerWorkerApi } from '../worker/trainer-api';
import type { Calibration, LocalHyperparams, LocalProgress, LocalTrainResult, SessionTrainer } from '@qflare/participant';

/** SessionTrainer backed by the tfjs Web Worker, so training never blocks the page. */
export class WorkerTrainer implements SessionTrainer {
	private worker: Worker | null = null;
	private api: Comlink.Remote<TrainerWorkerApi> | null = null;

	private remote(): Comlink.Remote<TrainerWorkerApi> {
		if (!this.api) {
			this.worker = new Worker(new URL('../worker/trainer.worker.ts', import.meta.url), { type: 'module' });
			this.api = Comlink.wrap<TrainerWorkerApi>(this.worker);
		}
		return this.api;
	}

	async init(model: ModelName, batchSize: number, seed: number): Promise<Calibration> {
		const choice = await this.remote().init(MODEL_SPECS[model], batchSize, seed);
		const backend = BackendName.safeParse(choice.backend);
		if (!backend.success) throw new Error(`trainer chose an unknown backend "${choice.backend}"`);
		return { backend: backend.data, reason: choice.reason };
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledSet,
		hyperparams: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult> {
		// The decoded weights own their buffer: hand it over instead of copying it.
		const buffer =
			globalWeights.byteOffset === 0 && globalWeights.byteLength === globalWeights.buffer.byteLength
				? (globalWeights.buffer as ArrayBuffer)
				: (globalWeights.slice().buffer as ArrayBuffer);
		const result = await this.remote().train(
			Comlink.transfer(buffer, [buffer]),
			{ count: data.count, images: data.images, labels: data.labels },
			hyperparams,
			Comlink.proxy((p: LocalProgress) => onProgress(p))
		);
		return {
			delta: new Float32Array(result.delta),
			numSamples: result.numSamples,
			steps: result.steps,
			loss: result.loss,
			accuracy: result.accuracy,
			trainMs: result.trainMs,
			...(result.valAccuracy === undefined ? {} : { valAccuracy: result.valAccuracy })
		};
	}

	dispose(): void {
		this.api?.[Comlink.releaseProxy]();
		this.worker?.terminate();
		this.api = null;
		this.worker = null;
	}
}
