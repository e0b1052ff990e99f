import * as Comlink from 'comlink';
import { modelSpec } from '@qflare/trainer';
import { BackendName, type ColumnScale, type ModelName, type TaskSchema } from '@qflare/protocol';
import { createTrainer, type TrainerHandle } from '../worker/create-trainer';
import { ownBuffer } from '../worker/own-buffer';
import type { HoldOutEvaluation, LabelledData, TrainerWorkerApi } from '../worker/trainer-api';
import type { Calibration, LocalHyperparams, LocalProgress, LocalTrainResult, SessionTrainer } from '@qflare/participant';

/**
 * SessionTrainer backed by the tfjs Web Worker, so training never blocks the page. The session
 * hands over freshly decoded weights, so their buffers are transferred; the data is copied (the
 * session keeps it for the next round).
 */
export class WorkerTrainer implements SessionTrainer {
	private handle: TrainerHandle | null = null;

	private remote(): Comlink.Remote<TrainerWorkerApi> {
		this.handle ??= createTrainer();
		return this.handle.api;
	}

	async init(model: ModelName, task: TaskSchema, batchSize: number, seed: number): Promise<Calibration> {
		const choice = await this.remote().init(modelSpec(model, task), batchSize, seed);
		const backend = BackendName.safeParse(choice.backend);
		if (!backend.success) throw new Error(`trainer chose an unknown backend "${choice.backend}"`);
		return { backend: backend.data, reason: choice.reason };
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledData,
		hyperparams: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult> {
		const buffer = ownBuffer(globalWeights);
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

	async evaluateHoldOut(weights: Float32Array, data: LabelledData, targetScale: ColumnScale | null): Promise<HoldOutEvaluation> {
		const buffer = ownBuffer(weights);
		return this.remote().evaluateHoldOut(
			Comlink.transfer(buffer, [buffer]),
			{ count: data.count, images: data.images, labels: data.labels },
			targetScale
		);
	}

	dispose(): void {
		this.handle?.terminate();
		this.handle = null;
	}
}
