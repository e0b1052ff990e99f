import { DataImportError, encodeRows, encodeWindows, targetScale, toTrainingData } from '@qflare/data-import';
import { initBackend, LocalTrainer, missingKernels, modelSpec, type Tf } from '@qflare/trainer';
import { taskObjective, type TaskSchema } from '@qflare/protocol';
import { toPrediction } from '../participant/try-model';
import { imagePixels } from './image-pixels';
import type { PredictInput, PredictJob, PredictOutcome } from './trainer-api';

async function encodeInput(input: PredictInput, task: TaskSchema): Promise<Uint8Array | Float32Array> {
	if (input.kind === 'image') {
		if (task.kind !== 'image-classification') throw new DataImportError([`a ${task.kind} model takes no image`]);
		return imagePixels(input.file, task, 'the picked image');
	}
	if (input.kind === 'row') {
		if (task.kind !== 'tabular') throw new DataImportError([`a ${task.kind} model takes no table row`]);
		return encodeRows([input.row], task);
	}
	if (task.kind !== 'time-series') throw new DataImportError([`a ${task.kind} model takes no time window`]);
	return encodeWindows([input.rows], task);
}

/** Placeholder targets: toTrainingData scales inputs and targets together, a prediction has no target. */
function noTargets(task: TaskSchema): Uint8Array | Float32Array {
	const objective = taskObjective(task);
	return objective.type === 'classification' ? new Uint8Array(1) : new Float32Array(objective.outputs);
}

/**
 * "Try the model": one input, encoded and standardised exactly as training data is, through a
 * model of its own (so a training run sharing the worker is never disturbed), on wasm when it
 * has every kernel the model needs and on cpu otherwise.
 */
export class Predictor {
	private trainer: LocalTrainer | null = null;
	private builtFor: string | null = null;

	/** `mayChangeBackend` says no while a training model lives in the same worker: its variables must stay put. */
	constructor(
		private readonly tf: Tf,
		private readonly mayChangeBackend: () => boolean = () => true
	) {}

	async predict(job: PredictJob): Promise<PredictOutcome> {
		try {
			const { task, standardization } = job;
			const inputs = await encodeInput(job.input, task);
			const trainer = await this.modelFor(job);
			const data = toTrainingData({ count: 1, inputs, targets: noTargets(task) }, task, standardization);
			const outputs = await trainer.predict(new Float32Array(job.weights), data.images, 1);
			return { ok: true, modelVersion: job.modelVersion, prediction: toPrediction(outputs, task, targetScale(task, standardization)) };
		} catch (error) {
			if (error instanceof DataImportError) return { ok: false, problems: error.problems };
			return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
		}
	}

	private async modelFor(job: PredictJob): Promise<LocalTrainer> {
		const spec = modelSpec(job.model, job.task);
		const current = this.tf.getBackend();
		const backend = !this.mayChangeBackend() ? current : missingKernels(this.tf, spec, 'wasm').length === 0 ? 'wasm' : 'cpu';
		const key = `${backend}/${job.model}/${JSON.stringify(job.task)}`;
		if (this.trainer && this.builtFor === key) return this.trainer;
		this.trainer?.dispose();
		this.trainer = null;
		if (current !== backend) {
			const ok = await initBackend(this.tf, backend, 15_000);
			if (ok !== true && (await initBackend(this.tf, 'cpu', 15_000)) !== true) throw new Error(`no backend to run the model on: ${backend} ${ok}`);
		}
		this.trainer = new LocalTrainer(this.tf);
		// The seed only fixes the initial weights, which the global model's replace.
		this.trainer.prepare(spec, 1);
		this.builtFor = key;
		return this.trainer;
	}

	dispose(): void {
		this.trainer?.dispose();
		this.trainer = null;
		this.builtFor = null;
	}
}
