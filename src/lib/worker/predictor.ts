import { DataImportError, encodeRows, encodeWindows, targetScale, toModelInputs, toPredictions, unscalableInputs } from '@qflare/data-import';
import { initBackend, LocalTrainer, missingKernels, modelSpec, type Tf } from '@qflare/trainer';
import type { TaskSchema } from '@qflare/protocol';
import { failure } from './failure';
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

/**
 * "Try the model": one input, encoded, standardised, checked and read back by the same functions
 * as the server's predict endpoint (so both answer alike for the same weights), through a model
 * of its own (so a training run sharing the worker is never disturbed), on wasm when it has every
 * kernel the model needs and on cpu otherwise.
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
			const raw = await encodeInput(job.input, task);
			const inputs = toModelInputs(raw, 1, task, standardization);
			const problems = unscalableInputs(raw, inputs, task, standardization);
			if (problems.length > 0) return { ok: false, problems };
			const trainer = await this.modelFor(job);
			const outputs = await trainer.predict(new Float32Array(job.weights), inputs, 1);
			const [prediction] = toPredictions(outputs, 1, task, targetScale(task, standardization));
			return { ok: true, modelVersion: job.modelVersion, prediction };
		} catch (error) {
			return failure(error);
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
