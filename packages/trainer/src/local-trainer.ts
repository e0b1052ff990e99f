import type { ColumnScale } from '@qflare/protocol';
import type { LayersModel, Tf } from './tf';
import type { ModelSpec } from './spec';
import type { LabelledData, ModelInputs } from './data';
import { clipToNorm } from '@qflare/fl';
import { buildModel } from './model';
import { flattenWeights, setFlatWeights } from './weights';
import {
	type EvalResult,
	type HoldOutEvaluation,
	type TrainHyperparams,
	type TrainProgress,
	type TrainResult,
	evaluate,
	evaluateHoldOut,
	predict,
	trainLocal
} from './train';

export type ClientHyperparams = TrainHyperparams & {
	/** FedProx proximal coefficient; 0 or absent means plain FedAvg local training. */
	proximalMu?: number;
	/** Shuffle seed for this round; defaults to the prepare() seed plus a call counter. */
	seed?: number;
	/** DP-FedAvg: clip the delta to this L2 norm before it leaves the device. */
	clipNorm?: number | null;
	/** PerfFedAvg: share of the local data held out of training to report validation accuracy. */
	validationFraction?: number;
};

export type ClientUpdate = TrainResult & {
	delta: Float32Array;
	/** Accuracy on the held-out local share, when validationFraction > 0 and the model is a classifier. */
	valAccuracy?: number;
	/** True when clipNorm shortened the delta. */
	clipped: boolean;
};

/** Splits off the last `fraction` of the samples (shards arrive shuffled) as a validation set. */
export function holdOut(data: LabelledData, fraction: number): { train: LabelledData; validation: LabelledData | null } {
	const held = Math.floor(data.count * fraction);
	if (fraction <= 0 || held < 1 || held >= data.count) return { train: data, validation: null };
	const keep = data.count - held;
	const sampleSize = data.images.length / data.count;
	// One class index per row, or the row's regression targets.
	const width = data.labels.length / data.count;
	return {
		train: { count: keep, images: data.images.subarray(0, keep * sampleSize), labels: data.labels.subarray(0, keep * width) },
		validation: { count: held, images: data.images.subarray(keep * sampleSize), labels: data.labels.subarray(keep * width) }
	};
}

/** The whole client step: load global weights, train locally, return the delta to send. */
export class LocalTrainer {
	private model: LayersModel | null = null;
	private currentSpec: ModelSpec | null = null;
	private seed = 0;
	private rounds = 0;

	constructor(readonly tf: Tf) {}

	get spec(): ModelSpec | null {
		return this.currentSpec;
	}

	/** Builds (or rebuilds) the model on the current backend. */
	prepare(spec: ModelSpec, seed: number): void {
		this.dispose();
		this.model = buildModel(this.tf, spec, seed);
		this.currentSpec = spec;
		this.seed = seed >>> 0;
		this.rounds = 0;
	}

	/** The model's current weights (the initial global model right after prepare). */
	weights(): Float32Array {
		return flattenWeights(this.requireModel());
	}

	async train(
		globalWeights: Float32Array,
		data: LabelledData,
		hp: ClientHyperparams,
		onProgress?: (p: TrainProgress) => void | Promise<void>,
		betweenBatches?: () => Promise<void>
	): Promise<ClientUpdate> {
		const model = this.requireModel();
		const { objective } = this.requireSpec();
		setFlatWeights(this.tf, model, globalWeights);
		const seed = hp.seed ?? (this.seed + ++this.rounds) >>> 0;
		const mu = hp.proximalMu ?? 0;
		const { train, validation } = holdOut(data, hp.validationFraction ?? 0);
		const result = await trainLocal(this.tf, model, train, hp, {
			seed,
			onProgress,
			betweenBatches,
			objective,
			proximal: mu > 0 ? { mu, global: globalWeights } : undefined
		});
		// PerfFedAvg weighs by accuracy, which a regression model does not have.
		const valAccuracy = validation && objective.type === 'classification' ? (await evaluate(this.tf, model, validation)).accuracy : undefined;
		const local = flattenWeights(model);
		for (let i = 0; i < local.length; i++) local[i] -= globalWeights[i];
		const { delta, clipped } = hp.clipNorm ? clipToNorm(local, hp.clipNorm) : { delta: local, clipped: false };
		return { ...result, delta, clipped, ...(valAccuracy === undefined ? {} : { valAccuracy }) };
	}

	/** Cross-entropy and accuracy of a classifier (the server's demo test set, PerfFedAvg's validation share). */
	async evaluate(weights: Float32Array, data: LabelledData, batchSize?: number): Promise<EvalResult> {
		const model = this.requireModel();
		setFlatWeights(this.tf, model, weights);
		return evaluate(this.tf, model, data, batchSize);
	}

	/** Federated evaluation on the local hold-out; targetScale converts regression errors to target units. */
	async evaluateHoldOut(weights: Float32Array, data: LabelledData, targetScale: ColumnScale | null): Promise<HoldOutEvaluation> {
		const model = this.requireModel();
		setFlatWeights(this.tf, model, weights);
		return evaluateHoldOut(this.tf, model, data, this.requireSpec().objective, targetScale);
	}

	/** count x outputs: class probabilities, or standardised predicted values. */
	async predict(weights: Float32Array, inputs: ModelInputs, count: number): Promise<Float32Array> {
		const model = this.requireModel();
		setFlatWeights(this.tf, model, weights);
		return predict(this.tf, model, inputs, count);
	}

	dispose(): void {
		this.model?.dispose();
		this.model = null;
		this.currentSpec = null;
	}

	private requireSpec(): ModelSpec {
		if (!this.currentSpec) throw new Error('LocalTrainer.prepare(spec, seed) was not called');
		return this.currentSpec;
	}

	private requireModel(): LayersModel {
		if (!this.model) throw new Error('LocalTrainer.prepare(spec, seed) was not called');
		return this.model;
	}
}
