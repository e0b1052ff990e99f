import type * as tfjs from '@tensorflow/tfjs';
import type { LayersModel, Tensor, Tf } from './tf';
import { type LabelledData, checkData, gatherBatch, shuffledIndices } from './data';
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
};

export type TrainResult = { numSamples: number; steps: number; loss: number; accuracy: number; trainMs: number };

export type EvalResult = { loss: number; accuracy: number };

/** Shape facts read from the built model, so callers need not pass the spec again. */
export function modelIO(model: LayersModel): { inputShape: number[]; sampleSize: number; numClasses: number } {
	const inputShape = model.inputs[0].shape.slice(1) as number[];
	const out = model.outputs[0].shape;
	const numClasses = out[out.length - 1] as number;
	return { inputShape, sampleSize: inputShape.reduce((a, b) => a * b, 1), numClasses };
}

/** Mean categorical cross-entropy of softmax outputs (clipped like tfjs-layers does). */
export function crossEntropy(tf: Tf, probs: Tensor, oneHot: Tensor): Tensor {
	const clipped = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
	return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(clipped)), -1)));
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
	const { inputShape, sampleSize, numClasses } = modelIO(model);
	checkData(data, sampleSize, numClasses);
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
							const labels = tf.tensor1d(y, 'int32');
							const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32');
							const loss = optimizer.minimize(
								() => {
									const probs = model.apply(xs, { training: true }) as Tensor;
									// keep(): minimize disposes everything but the loss it returns.
									kept.push(tf.keep(correctCount(tf, probs, labels)));
									let l = crossEntropy(tf, probs, oneHot);
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
					// The correct count was pushed inside minimize, the loss after it.
					const [cv, lv] = await Promise.all(kept.map((t) => t.data()));
					lossSum += lv[0] * n;
					correctSum += cv[0];
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
		accuracy: correctSum / data.count,
		trainMs: performance.now() - started
	};
}

/** Mean categorical cross-entropy and accuracy over the whole set, batched. */
export async function evaluate(tf: Tf, model: LayersModel, data: LabelledData, batchSize = 256): Promise<EvalResult> {
	const { inputShape, sampleSize, numClasses } = modelIO(model);
	checkData(data, sampleSize, numClasses);
	const order = new Uint32Array(data.count).map((_, i) => i);
	let lossSum = 0;
	let correctSum = 0;
	for (let start = 0; start < data.count; start += batchSize) {
		const { x, y, n } = gatherBatch(data, sampleSize, order, start, Math.min(data.count, start + batchSize));
		const [loss, correct] = tf.tidy(() => {
			const probs = model.predict(tf.tensor(x, [n, ...inputShape], 'float32')) as Tensor;
			const labels = tf.tensor1d(y, 'int32');
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
