import { loadDataset, shardOf } from '@qflare/datasets';
import { type DatasetName, type ModelName, type TaskSchema, demoTask } from '@qflare/protocol';
import { buildModel, evaluate, flattenWeights, modelSpec, parameterCount, predict, setFlatWeights, type LayersModel, type ModelSpec, type Tf } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import type { ModelService } from '../rounds/ports';
import { SerialQueue } from '../rounds/serial-queue';

/**
 * Builds models, evaluates global weights on a demo data set's test split and computes
 * predictions, with tfjs in Node. One model per architecture (model and task) is kept and its
 * weights swapped, since building one costs more than setting weights. Calls on one model run
 * one after another: they await between batches, and another call's weights must not be swapped
 * in meanwhile (a predict request beside a round's evaluation, or two predict requests).
 */
export class NodeModelService implements ModelService {
	readonly #models = new Map<string, LayersModel>();
	readonly #queue = new SerialQueue();

	/** Throws a clear Error when the model does not fit the task. */
	parameterCount(model: ModelName, task: TaskSchema): number {
		return parameterCount(modelSpec(model, task));
	}

	async initialWeights(model: ModelName, task: TaskSchema, seed: number): Promise<Float32Array> {
		const { tf } = await initNodeTf();
		const built = buildModel(tf, modelSpec(model, task), seed);
		try {
			return flattenWeights(built);
		} finally {
			built.dispose();
		}
	}

	/** Cross-entropy and accuracy on the demo data set's held-out test split. */
	async evaluate(model: ModelName, dataset: DatasetName, weights: Float32Array): Promise<{ loss: number; accuracy: number }> {
		const { test } = await loadDataset(dataset);
		return this.#withWeights(modelSpec(model, demoTask(dataset)), weights, (tf, built) => evaluate(tf, built, test));
	}

	/**
	 * Cross-entropy of each example at `indices` of the demo split (probabilities clipped to
	 * [1e-7, 1 - 1e-7] as in training), computed in float64 from the batched predictions.
	 */
	async perExampleLoss(model: ModelName, dataset: DatasetName, weights: Float32Array, split: 'train' | 'test', indices: ArrayLike<number>): Promise<Float64Array> {
		const set = shardOf((await loadDataset(dataset))[split], Array.from(indices));
		const probs = await this.#withWeights(modelSpec(model, demoTask(dataset)), weights, (tf, built) => predict(tf, built, set.images, set.count));
		const k = set.numClasses;
		if (probs.length !== set.count * k) throw new Error(`the model gives ${probs.length / Math.max(1, set.count)} outputs per example, not ${k} classes`);
		const losses = new Float64Array(set.count);
		for (let i = 0; i < set.count; i++) {
			const p = probs[i * k + set.labels[i]];
			losses[i] = -Math.log(Math.min(1 - 1e-7, Math.max(1e-7, p)));
		}
		return losses;
	}

	/** count x outputs: class probabilities, or standardised regression values. */
	async predict(model: ModelName, task: TaskSchema, weights: Float32Array, inputs: Uint8Array | Float32Array, count: number): Promise<Float32Array> {
		return this.#withWeights(modelSpec(model, task), weights, (tf, built) => predict(tf, built, inputs, count));
	}

	/** Runs `use` on the architecture's model holding `weights`, after every earlier call on it. */
	async #withWeights<T>(spec: ModelSpec, weights: Float32Array, use: (tf: Tf, built: LayersModel) => Promise<T>): Promise<T> {
		const { tf } = await initNodeTf();
		// The spec is the architecture: two tasks with the same shapes share one model.
		const key = JSON.stringify(spec);
		return this.#queue.run(key, async () => {
			let built = this.#models.get(key);
			if (!built) {
				built = buildModel(tf, spec, 0);
				this.#models.set(key, built);
			}
			setFlatWeights(tf, built, weights);
			return use(tf, built);
		});
	}
}
