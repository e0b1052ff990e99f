// Types only: the page imports this without pulling tfjs into its bundle.
import type {
	BackendChoice,
	ClientHyperparams,
	ClientUpdate,
	EvalResult,
	HoldOutEvaluation,
	LabelledData,
	ModelSpec,
	TrainProgress
} from '@qflare/trainer';
import type {
	ColumnScale,
	ImageClassificationTask,
	ModelName,
	Prediction,
	Standardization,
	TabularTask,
	TaskSchema,
	TimeSeriesTask
} from '@qflare/protocol';
import type { ImportPreview } from '../participant/import-preview';

export type { BackendChoice, ClientHyperparams, EvalResult, HoldOutEvaluation, LabelledData, ModelSpec, TrainProgress };

/** A client update as it leaves the worker: the delta's buffer is transferred, not copied. */
export type WorkerUpdate = Omit<ClientUpdate, 'delta'> & { delta: ArrayBuffer; backend: string };

/** How the participant's data is split: the project's hold-out share and seed. */
export interface ImportSplit {
	holdOutFraction: number;
	seed: number;
}

/** Import progress: reading the file, decoding images (done of total), checking, storing. */
export interface ImportProgress {
	stage: 'reading' | 'decoding' | 'checking' | 'saving';
	done: number;
	total: number;
}

/** A picked file with its path inside the picked folder (webkitRelativePath, lost when a File is posted to a worker). */
export interface PickedFile {
	path: string;
	file: File;
}

/** Import results cross Comlink as values: an Error's extra fields (the problem list) would be lost. */
export type ImportOutcome = { ok: true; preview: ImportPreview } | { ok: false; problems: string[] };

/** One input to "Try the model", as the page collected it; the worker encodes it like training data. */
export type PredictInput =
	| { kind: 'row'; row: Record<string, string> }
	| { kind: 'window'; rows: number[][] }
	| { kind: 'image'; file: Blob };

export interface PredictJob {
	model: ModelName;
	task: TaskSchema;
	modelVersion: number;
	standardization: Standardization | null;
	/** Flat f32 weights of the global model. */
	weights: ArrayBuffer;
	input: PredictInput;
}

export type PredictOutcome = { ok: true; modelVersion: number; prediction: Prediction } | { ok: false; problems: string[] };

/** What trainer.worker.ts exposes through Comlink; wrap with Comlink.wrap<TrainerWorkerApi>(worker). */
export type TrainerWorkerApi = {
	/** Builds the model and picks the fastest working backend for it (takes seconds on first use). */
	init(spec: ModelSpec, batchSize: number, seed: number): Promise<BackendChoice>;
	/** The freshly initialised model's weights (f32), e.g. for a project's first global model. */
	initialWeights(): Promise<ArrayBuffer>;
	/** Local training from the given global weights (f32); onProgress must be a Comlink.proxy. */
	train(globalWeights: ArrayBuffer, data: LabelledData, hp: ClientHyperparams, onProgress?: (p: TrainProgress) => void): Promise<WorkerUpdate>;
	evaluate(weights: ArrayBuffer, data: LabelledData): Promise<EvalResult>;
	/** Federated evaluation of global weights on the local hold-out (regression errors in target units). */
	evaluateHoldOut(weights: ArrayBuffer, data: LabelledData, targetScale: ColumnScale | null): Promise<HoldOutEvaluation>;
	/** Frees the model's tensors; init() must run again before train(). */
	dispose(): Promise<void>;

	/**
	 * Parses and checks a CSV against the task, splits off the hold-out, checks the storage
	 * quota and stores the prepared data in IndexedDB under the project. Nothing leaves the device.
	 */
	importCsv(projectId: string, file: File, task: TabularTask | TimeSeriesTask, split: ImportSplit, onProgress?: (p: ImportProgress) => void): Promise<ImportOutcome>;
	/**
	 * Decodes and resizes picked images (createImageBitmap + OffscreenCanvas), labels them by
	 * class folder or by a labels CSV (filename,label), and stores them like importCsv.
	 */
	importImages(
		projectId: string,
		files: PickedFile[],
		labelsCsv: File | null,
		task: ImageClassificationTask,
		split: ImportSplit,
		onProgress?: (p: ImportProgress) => void
	): Promise<ImportOutcome>;
	/** One prediction of a global model, on a model of its own (a training run in this worker is not disturbed). */
	predict(job: PredictJob): Promise<PredictOutcome>;
};
