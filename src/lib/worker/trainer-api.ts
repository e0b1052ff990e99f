// Types only: the page imports this without pulling tfjs into its bundle.
import type { BackendChoice, ClientHyperparams, ClientUpdate, EvalResult, LabelledData, ModelSpec, TrainProgress } from '@qflare/trainer';

export type { BackendChoice, ClientHyperparams, EvalResult, LabelledData, ModelSpec, TrainProgress };

/** A client update as it leaves the worker: the delta's buffer is transferred, not copied. */
export type WorkerUpdate = Omit<ClientUpdate, 'delta'> & { delta: ArrayBuffer; backend: string };

/** What trainer.worker.ts exposes through Comlink; wrap with Comlink.wrap<TrainerWorkerApi>(worker). */
export type TrainerWorkerApi = {
	/** Builds the model and picks the fastest working backend for it (takes seconds on first use). */
	init(spec: ModelSpec, batchSize: number, seed: number): Promise<BackendChoice>;
	/** The freshly initialised model's weights (f32), e.g. for a project's first global model. */
	initialWeights(): Promise<ArrayBuffer>;
	/** Local training from the given global weights (f32); onProgress must be a Comlink.proxy. */
	train(globalWeights: ArrayBuffer, data: LabelledData, hp: ClientHyperparams, onProgress?: (p: TrainProgress) => void): Promise<WorkerUpdate>;
	evaluate(weights: ArrayBuffer, data: LabelledData): Promise<EvalResult>;
	/** Frees the model's tensors; init() must run again before train(). */
	dispose(): Promise<void>;
};
