import type { ModelName, TaskSchema } from '@qflare/protocol';
import { buildModel, modelSpec } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';

export const WEIGHTS_FILE = 'weights.bin';

/** The model.json of the tfjs layers format, minus nothing: topology plus a manifest naming weights.bin. */
export interface LayersModelJson {
	format: 'layers-model';
	generatedBy: string;
	convertedBy: null;
	modelTopology: unknown;
	weightsManifest: { paths: string[]; weights: unknown[] }[];
}

const cache = new Map<string, Promise<LayersModelJson>>();

/**
 * Topology and weight specs depend only on the architecture, here the model built for the
 * project's task (throws a clear Error when the model does not fit it). The flat weight vector
 * the store keeps is already in getWeights() order as float32, which is exactly the layers
 * format's weights.bin, so the bytes are served as they are.
 */
export function layersModelJson(model: ModelName, task: TaskSchema): Promise<LayersModelJson> {
	const spec = modelSpec(model, task);
	const key = JSON.stringify(spec);
	let pending = cache.get(key);
	if (!pending) {
		pending = (async () => {
			const { tf } = await initNodeTf();
			const built = buildModel(tf, spec, 0);
			try {
				let json: LayersModelJson | null = null;
				await built.save(
					tf.io.withSaveHandler(async (artifacts) => {
						json = {
							format: 'layers-model',
							generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
							convertedBy: null,
							modelTopology: artifacts.modelTopology,
							weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }]
						};
						return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
					})
				);
				if (!json) throw new Error('tfjs did not hand over the model artifacts');
				return json;
			} finally {
				built.dispose();
			}
		})();
		pending.catch(() => cache.delete(key));
		cache.set(key, pending);
	}
	return pending;
}
