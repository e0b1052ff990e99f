import { loadDataset } from '@qflare/datasets';
import type { DatasetName, ModelName } from '@qflare/protocol';
import { buildModel, evaluate, flattenWeights, MODEL_SPECS, parameterCount, setFlatWeights, type LayersModel } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import type { ModelService } from '../rounds/ports';

/**
 * Builds models and evaluates global weights on the held-out test split with tfjs in Node.
 * One model per architecture is kept and its weights swapped, since building one costs more
 * than setting weights.
 */
export class NodeModelService implements ModelService {
	readonly #models = new Map<ModelName, LayersModel>();

	parameterCount(model: ModelName): number {
		return parameterCount(MODEL_SPECS[model]);
	}

	async initialWeights(model: ModelName, seed: number): Promise<Float32Array> {
		const { tf } = await initNodeTf();
		const built = buildModel(tf, MODEL_SPECS[model], seed);
		try {
			return flattenWeights(built);
		} finally {
			built.dispose();
		}
	}

	async evaluate(model: ModelName, dataset: DatasetName, weights: Float32Array): Promise<{ loss: number; accuracy: number }> {
		const { tf } = await initNodeTf();
		const { test } = await loadDataset(dataset);
		let built = this.#models.get(model);
		if (!built) {
			built = buildModel(tf, MODEL_SPECS[model], 0);
			this.#models.set(model, built);
		}
		setFlatWeights(tf, built, weights);
		return evaluate(tf, built, test);
	}
}
