import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LabelledSet, ModelName } from '@qflare/protocol';
import type { Calibration, LocalHyperparams, LocalProgress, LocalTrainResult, SessionTrainer } from '@qflare/participant';
import { inputSize, LocalTrainer, MODEL_SPECS } from '@qflare/trainer';
import { nodeBackendFor } from './node-backend';

export class TrainerStoppedError extends Error {
	override readonly name = 'TrainerStoppedError';
}

/**
 * SessionTrainer on tfjs in this process: @qflare/trainer's LocalTrainer (the same client step as
 * the browser worker), yielding to the event loop between batches so sockets and the other
 * participants sharing the process keep running. The model is built once per (model, seed).
 */
export class NodeTrainer implements SessionTrainer {
	private trainer: LocalTrainer | null = null;
	private modelName: ModelName | null = null;
	private stopped = false;
	private running = false;

	async init(model: ModelName, _batchSize: number, seed: number): Promise<Calibration> {
		const chosen = await nodeBackendFor(model);
		this.trainer?.dispose();
		this.trainer = new LocalTrainer(chosen.tf);
		this.trainer.prepare(MODEL_SPECS[model], seed);
		this.modelName = model;
		return { backend: chosen.backend, reason: chosen.reason };
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledSet,
		hp: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult> {
		const { trainer, modelName } = this;
		if (!trainer || !modelName) throw new Error('NodeTrainer.init() was not called');
		const rowBytes = inputSize(MODEL_SPECS[modelName]);
		if (data.width * data.height !== rowBytes) {
			throw new Error(`shard rows are ${data.width}x${data.height}, the ${modelName} model takes ${rowBytes} values`);
		}
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
			return { ...update, trainMs: Math.max(0, update.trainMs - waitedMs) };
		} finally {
			this.running = false;
			// A stop() during training left the model for this run to free.
			if (this.stopped) this.dispose();
		}
	}

	/** Ends a training run at its next batch and frees the model. */
	dispose(): void {
		this.stopped = true;
		if (this.running) return;
		this.trainer?.dispose();
		this.trainer = null;
	}
}
