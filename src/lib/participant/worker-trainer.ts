import * as Comlink from 'comlink';
import { modelSpec } from '@qflare/trainer';
import { BackendName, type ColumnScale, type ModelName, type TaskSchema } from '@qflare/protocol';
import type { HoldOutEvaluation, LabelledData, TrainerWorkerApi } from '../worker/trainer-api';
import type { Calibration, LocalHyperparams, LocalProgress, LocalTrainResult, SessionTrainer } from '@qflare/participant';

/** The array's own buffer when it spans it (to transfer without a copy), else a copy. */
function ownBuffer(a: Float32Array): ArrayBuffer {
	return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer
		? a.buffer
		: (a.slice().buffer as ArrayBuffer);
}

/**
 * SessionTrainer backed by the tfjs Web Worker, so training never blocks the page. The session
 * hands over freshly decoded weights, so their buffers are transferred; the data is copied (the
 * session keeps it for the next round).
 */
export class WorkerTrainer implements SessionTrainer {
	private worker: Worker | null = null;
	private api: Comlink.Remote<TrainerWorkerApi> | null = null;

	private remote(): Comlink.Remote<TrainerWorkerApi> {
		if (!this.api) {
			this.worker = new Worker(new URL('../worker/trainer.worker.ts', import.meta.url), { type: 'module', name: 'qflare-trainer' });
			this.api = Comlink.wrap<TrainerWorkerApi>(this.worker);
		}
		return this.api;
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
		this.api?.[Comlink.releaseProxy]();
		this.worker?.terminate();
		this.api = null;
		this.worker = null;
	}
}
