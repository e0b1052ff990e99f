import type * as tfjs from '@tensorflow/tfjs';
import type { ColumnScale, EvaluationReport } from '@qflare/protocol';
import type { LayersModel, Tensor, Tf } from './tf';
import type { ModelObjective } from './spec';
import { type LabelledData, type ModelInputs, checkData, checkInputs, gatherBatch, gatherInputs, shuffledIndices } from './data';
import { weightSizes } from './weights';

export type TrainHyperparams = { localEpochs: number; batchSize: number; learningRate: number };

export type TrainProgress = { epoch: number; epochs: number; batch: number; batches: number; loss: number };

export type TrainOptions = {
	/** Seeds the per-epoch shuffle. */
	seed: number;
	onProgress?: (p: TrainProgress) => void | Promise<void>;
	/** FedProx: adds mu/2 * ||w - global||^2 to the loss (global in flattenWeights order). */
	proximal?: { mu: number; global: Float32Array };
	/**
	 * Awaited after every batch. The cpu and wasm backends resolve data() as microtasks, so
	 * without it a training run never yields the thread; it may also throw to stop the run.
	 */
	betweenBatches?: () => Promise<void>;
	/**
	 * The loss to train with (the spec's objective). Absent: classification over the model's
	 * output width, which is accepted only for a model that ends in softmax.
	 */
	objective?: ModelObjective;
};

/** accuracy: mean over the last epoch for classification, null for regression. */
export type TrainResult = { numSamples: number; steps: number; loss: number; accuracy: number | null; trainMs: number };

export type EvalResult = { loss: number; accuracy: number };

/** A hold-out evaluation as a participant reports it, less the model version the caller knows. */
export type HoldOutEvaluation = Omit<EvaluationReport, 'modelVersion'>;

/** Shape facts read from the built model, so callers need not pass the spec again. */
export function modelIO(model: LayersModel): { inputShape: number[]; sampleSize: number; outputs: number } {
	const inputShape = model.inputs[0].shape.slice(1) as number[];
	const out = model.outputs[0].shape;
	const outputs = out[out.length - 1] as number;
	return { inputShape, sampleSize: inputShape.reduce((a, b) => a * b, 1), outputs };
}

function endsInSoftmax(model: LayersModel): boolean {
	const last = model.layers[model.layers.length - 1];
	return (last.getConfig() as { activation?: unknown }).activation === 'softmax';
}

/** The given objective, checked against the model's output width, or classification for a softmax model. */
function resolveObjective(model: LayersModel, objective: ModelObjective | undefined): ModelObjective {
	const { outputs } = modelIO(model);
	if (!objective) {
		if (!endsInSoftmax(model)) throw new Error(`model ${model.name} does not end in softmax: pass the objective (regression loss) to train or evaluate it`);
		return { type: 'classification', numClasses: outputs };
	}
	const width = objective.type === 'classification' ? objective.numClasses : objective.outputs;
	if (width !== outputs) throw new Error(`the ${objective.type} objective has ${width} outputs, model ${model.name} has ${outputs}`);
	return objective;
}

/** Mean categorical cross-entropy of softmax outputs (clipped like tfjs-layers does). */
export function crossEntropy(tf: Tf, probs: Tensor, oneHot: Tensor): Tensor {
	const clipped = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
	return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(clipped)), -1)));
}

/** The training loss of the objective: y is one-hot for classification, n x outputs targets for regression. */
function objectiveLoss(tf: Tf, objective: ModelObjective, out: Tensor, y: Tensor): Tensor {
	if (objective.type === 'classification') return crossEntropy(tf, out, y);
	return objective.loss === 'mse' ? tf.mean(tf.squaredDifference(out, y)) : tf.mean(tf.abs(tf.sub(out, y)));
}

function correctCount(tf: Tf, probs: Tensor, labels: Tensor): Tensor {
	return tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32'));
}

function shuffleSeed(seed: number, epoch: number): number {
	return (seed + Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
}

function report(onProgress: TrainOptions['onProgress'], p: TrainProgress): void {
	if (!onProgress) return;
	// A Comlink proxy returns a promise; a page that went away must not fail the training.
	const r = onProgress(p);
	if (r && typeof r.then === 'function') r.then(undefined, () => undefined);
}

/** One global-weight tensor per trainable variable, for the FedProx term. */
function proximalTargets(tf: Tf, model: LayersModel, global: Float32Array): Tensor[] {
	const all = model.weights;
	const sizes = weightSizes(model);
	const total = sizes.reduce((a, b) => a + b, 0);
	if (global.length !== total) throw new RangeError(`proximal global vector has ${global.length} values, model needs ${total}`);
	const offsets: number[] = [];
	sizes.reduce((o, s, i) => ((offsets[i] = o), o + s), 0);
	return model.trainableWeights.map((w) => {
		const i = all.indexOf(w);
		return tf.tensor(global.subarray(offsets[i], offsets[i] + sizes[i]), w.shape as number[], 'float32');
	});
}

/**
 * Local SGD on one participant's data. Loss and accuracy are means over the last epoch,
 * measured on each batch before its update (as Keras reports them).
 */
export async function trainLocal(
	tf: Tf,
	model: LayersModel,
	data: LabelledData,
	hp: TrainHyperparams,
	options: TrainOptions
): Promise<TrainResult> {
	const { inputShape, sampleSize } = modelIO(model);
	const objective = resolveObjective(model, options.objective);
	checkData(data, sampleSize, objective);
	const classify = objective.type === 'classification';
	if (!(hp.localEpochs >= 1 && hp.batchSize >= 1 && hp.learningRate > 0)) {
		throw new RangeError(`bad hyperparameters ${JSON.stringify(hp)}`);
	}
	const epochs = Math.floor(hp.localEpochs);
	const batchSize = Math.floor(hp.batchSize);
	const batches = Math.ceil(data.count / batchSize);
	const optimizer = tf.train.sgd(hp.learningRate);
	const vars = model.trainableWeights.map((w) => w.read() as tfjs.Variable);
	const mu = options.proximal?.mu ?? 0;
	const targets = options.proximal && mu > 0 ? proximalTargets(tf, model, options.proximal.global) : [];
	const started = performance.now();
	let steps = 0;
	let lossSum = 0;
	let correctSum = 0;
	try {
		for (let epoch = 0; epoch < epochs; epoch++) {
			const order = shuffledIndices(data.count, shuffleSeed(options.seed, epoch));
			lossSum = 0;
			correctSum = 0;
			for (let b = 0; b < batches; b++) {
				const { x, y, n } = gatherBatch(data, sampleSize, order, b * batchSize, Math.min(data.count, (b + 1) * batchSize));
				// Tensors that outlive the tidy: the loss and the correct count of this batch.
				const kept: Tensor[] = [];
				try {
					kept.push(
						tf.tidy(() => {
							const xs = tf.tensor(x, [n, ...inputShape], 'float32');
							// checkData made y class indices for classification, n x outputs floats for regression.
							let labels: tfjs.Tensor1D | null = null;
							let truth: Tensor;
							if (objective.type === 'classification') {
								labels = tf.tensor1d(y as Int32Array, 'int32');
								truth = tf.cast(tf.oneHot(labels, objective.numClasses), 'float32');
							} else {
								truth = tf.tensor(y as Float32Array, [n, objective.outputs], 'float32');
							}
							const loss = optimizer.minimize(
								() => {
									const out = model.apply(xs, { training: true }) as Tensor;
									// keep(): minimize disposes everything but the loss it returns.
									if (labels) kept.push(tf.keep(correctCount(tf, out, labels)));
									let l = objectiveLoss(tf, objective, out, truth);
									if (targets.length > 0) {
										const sq = vars.map((v, i) => tf.sum(tf.squaredDifference(v, targets[i])));
										l = tf.add(l, tf.mul(mu / 2, tf.addN(sq)));
									}
									return l as tfjs.Scalar;
								},
								true,
								vars
							);
							if (!loss) throw new Error('optimizer returned no loss');
							return loss;
						})
					);
					// The correct count (classification) was pushed inside minimize, the loss after it.
					const values = await Promise.all(kept.map((t) => t.data()));
					lossSum += values[values.length - 1][0] * n;
					if (classify) correctSum += values[0][0];
				} finally {
					tf.dispose(kept);
				}
				steps++;
				report(options.onProgress, { epoch: epoch + 1, epochs, batch: b + 1, batches, loss: lossSum / Math.min(data.count, (b + 1) * batchSize) });
				if (options.betweenBatches) await options.betweenBatches();
			}
		}
	} finally {
		optimizer.dispose();
		tf.dispose(targets);
	}
	return {
		numSamples: data.count,
		steps,
		loss: lossSum / data.count,
		accuracy: classify ? correctSum / data.count : null,
		trainMs: performance.now() - started
	};
}

/** Mean categorical cross-entropy and accuracy of a softmax classifier over the whole set, batched. */
export async function evaluate(tf: Tf, model: LayersModel, data: LabelledData, batchSize = 256): Promise<EvalResult> {
	const { inputShape, sampleSize, outputs: numClasses } = modelIO(model);
	if (!endsInSoftmax(model)) throw new Error(`evaluate reports accuracy of a classifier; model ${model.name} is not one (use evaluateHoldOut)`);
	checkData(data, sampleSize, { type: 'classification', numClasses });
	const order = new Uint32Array(data.count).map((_, i) => i);
	let lossSum = 0;
	let correctSum = 0;
	for (let start = 0; start < data.count; start += batchSize) {
		const { x, y, n } = gatherBatch(data, sampleSize, order, start, Math.min(data.count, start + batchSize));
		const [loss, correct] = tf.tidy(() => {
			const probs = model.predict(tf.tensor(x, [n, ...inputShape], 'float32')) as Tensor;
			const labels = tf.tensor1d(y as Int32Array, 'int32');
			return [crossEntropy(tf, probs, tf.cast(tf.oneHot(labels, numClasses), 'float32')), correctCount(tf, probs, labels)];
		});
		try {
			const [lv, cv] = await Promise.all([loss.data(), correct.data()]);
			lossSum += lv[0] * n;
			correctSum += cv[0];
		} finally {
			tf.dispose([loss, correct]);
		}
	}
	return { loss: lossSum / data.count, accuracy: correctSum / data.count };
}

/** Runs the model over count x inputSize inputs in batches: count x outputs values (probabilities, or standardised predictions). */
export async function predict(tf: Tf, model: LayersModel, inputs: ModelInputs, count: number, batchSize = 256): Promise<Float32Array> {
	const { inputShape, sampleSize, outputs } = modelIO(model);
	checkInputs(inputs, count, sampleSize);
	const result = new Float32Array(count * outputs);
	for (let start = 0; start < count; start += batchSize) {
		const end = Math.min(count, start + batchSize);
		const x = gatherInputs(inputs, sampleSize, null, start, end);
		const out = tf.tidy(() => model.predict(tf.tensor(x, [end - start, ...inputShape], 'float32')) as Tensor);
		try {
			result.set((await out.data()) as Float32Array, start * outputs);
		} finally {
			out.dispose();
		}
	}
	return result;
}

/** Index of the largest value of row r (the first on a tie, as tf.argMax). */
function argMaxRow(values: Float32Array, r: number, width: number): number {
	let best = 0;
	for (let c = 1; c < width; c++) if (values[r * width + c] > values[r * width + best]) best = c;
	return best;
}

/**
 * Scores the model on a hold-out set the way a participant reports it: the mean training loss
 * (cross-entropy, or MSE/MAE of the standardised targets) and, for classification, correct and
 * per-class true/false positives and false negatives; for regression, absolute and squared error
 * sums over every predicted value in the target's units (standardised error x targetScale.std).
 * Sums are taken in float64 on the downloaded predictions, so they are exact for the outputs.
 */
export async function evaluateHoldOut(
	tf: Tf,
	model: LayersModel,
	data: LabelledData,
	objective: ModelObjective,
	targetScale: ColumnScale | null = null,
	batchSize = 256
): Promise<HoldOutEvaluation> {
	const { sampleSize } = modelIO(model);
	resolveObjective(model, objective);
	checkData(data, sampleSize, objective);
	const out = await predict(tf, model, data.images, data.count, batchSize);
	// A diverged model would report NaN sums, which the server's schema refuses: say why here.
	const bad = out.findIndex((v) => !Number.isFinite(v));
	if (bad >= 0) throw new Error(`the model predicts ${out[bad]} for hold-out row ${Math.floor(bad / (out.length / data.count))}: its weights have diverged`);
	if (objective.type === 'classification') {
		const k = objective.numClasses;
		const labels = data.labels;
		const truePositives = new Array<number>(k).fill(0);
		const falsePositives = new Array<number>(k).fill(0);
		const falseNegatives = new Array<number>(k).fill(0);
		let lossSum = 0;
		let correct = 0;
		for (let r = 0; r < data.count; r++) {
			const label = labels[r];
			// Clipped like crossEntropy, so the reported loss is the training loss.
			lossSum -= Math.log(Math.min(1 - 1e-7, Math.max(1e-7, out[r * k + label])));
			const predicted = argMaxRow(out, r, k);
			if (predicted === label) {
				correct++;
				truePositives[label]++;
			} else {
				falsePositives[predicted]++;
				falseNegatives[label]++;
			}
		}
		return { n: data.count, loss: lossSum / data.count, classification: { correct, truePositives, falsePositives, falseNegatives } };
	}
	const std = targetScale?.std ?? 1;
	if (!(std > 0 && Number.isFinite(std))) throw new RangeError(`target scale std must be a positive number, got ${std}`);
	const targets = data.labels;
	let absSum = 0;
	let squaredSum = 0;
	for (let i = 0; i < targets.length; i++) {
		const e = out[i] - targets[i];
		absSum += Math.abs(e);
		squaredSum += e * e;
	}
	const values = targets.length;
	return {
		n: data.count,
		loss: (objective.loss === 'mse' ? squaredSum : absSum) / values,
		regression: { values, absErrorSum: absSum * std, squaredErrorSum: squaredSum * std * std }
	};
}
