import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ColumnScale, ModelName, TaskSchema } from '@qflare/protocol';
import type { Calibration, LocalHyperparams, LocalProgress, LocalTrainResult, SessionTrainer } from '@qflare/participant';
import { LocalTrainer, modelSpec, type HoldOutEvaluation, type LabelledData } from '@qflare/trainer';
import { nodeBackendFor } from './node-backend';

export class TrainerStoppedError extends Error {
	override readonly name = 'TrainerStoppedError';
}

/**
 * SessionTrainer on tfjs in this process: @qflare/trainer's LocalTrainer (the same client step as
 * the browser worker), yielding to the event loop between batches so sockets and the other
 * participants sharing the process keep running. The model is built once per init (model, task, seed).
 */
export class NodeTrainer implements SessionTrainer {
	private trainer: LocalTrainer | null = null;
	private stopped = false;
	private running = false;

	/** `onResult` sees each local result before the session encodes it (simulations check secure sums against it). */
	constructor(private readonly onResult?: (result: LocalTrainResult) => void) {}

	async init(model: ModelName, task: TaskSchema, _batchSize: number, seed: number): Promise<Calibration> {
		const spec = modelSpec(model, task);
		const chosen = await nodeBackendFor(spec);
		this.trainer?.dispose();
		this.trainer = new LocalTrainer(chosen.tf);
		this.trainer.prepare(spec, seed);
		return { backend: chosen.backend, reason: chosen.reason };
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledData,
		hp: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult> {
		const trainer = this.requireTrainer();
		this.running = true;
		let waitedMs = 0;
		try {
			const update = await trainer.train(globalWeights, data, hp, onProgress, async () => {
				const t0 = performance.now();
				await nextTurn();
				waitedMs += performance.now() - t0;
				if (this.stopped) throw new TrainerStoppedError('training stopped');
			});
			// Compute time only: waits for other participants in this process are not this device's cost.
			const result = { ...update, trainMs: Math.max(0, update.trainMs - waitedMs) };
			this.onResult?.(result);
			return result;
		} finally {
			this.running = false;
			// A stop() during training left the model for this run to free.
			if (this.stopped) this.dispose();
		}
	}

	async evaluateHoldOut(weights: Float32Array, data: LabelledData, targetScale: ColumnScale | null): Promise<HoldOutEvaluation> {
		return this.requireTrainer().evaluateHoldOut(weights, data, targetScale);
	}

	/** Ends a training run at its next batch and frees the model. */
	dispose(): void {
		this.stopped = true;
		if (this.running) return;
		this.trainer?.dispose();
		this.trainer = null;
	}

	private requireTrainer(): LocalTrainer {
		if (!this.trainer) throw new Error('NodeTrainer.init() was not called');
		return this.trainer;
	}
}
