import { loadDataset } from '@qflare/datasets';
import { type DatasetName, type ModelName, type TaskSchema, demoTask } from '@qflare/protocol';
import { buildModel, evaluate, flattenWeights, modelSpec, parameterCount, predict, setFlatWeights, type LayersModel, type ModelSpec } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import type { ModelService } from '../rounds/ports';

/**
 * Builds models, evaluates global weights on a demo data set's test split and computes
 * predictions, with tfjs in Node. One model per architecture (model and task) is kept and its
 * weights swapped, since building one costs more than setting weights.
 */
export class NodeModelService implements ModelService {
	readonly #models = new Map<string, LayersModel>();

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
		const { tf } = await initNodeTf();
		const { test } = await loadDataset(dataset);
		const built = await this.#withWeights(modelSpec(model, demoTask(dataset)), weights);
		return evaluate(tf, built, test);
	}

	/** count x outputs: class probabilities, or standardised regression values. */
	async predict(model: ModelName, task: TaskSchema, weights: Float32Array, inputs: Uint8Array | Float32Array, count: number): Promise<Float32Array> {
		const { tf } = await initNodeTf();
		const built = await this.#withWeights(modelSpec(model, task), weights);
		return predict(tf, built, inputs, count);
	}

	async #withWeights(spec: ModelSpec, weights: Float32Array): Promise<LayersModel> {
		const { tf } = await initNodeTf();
		// The spec is the architecture: two tasks with the same shapes share one model.
		const key = JSON.stringify(spec);
		let built = this.#models.get(key);
		if (!built) {
			built = buildModel(tf, spec, 0);
			this.#models.set(key, built);
		}
		setFlatWeights(tf, built, weights);
		return built;
	}
}
