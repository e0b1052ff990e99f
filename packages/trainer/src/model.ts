import type { LayersModel, Tf } from './tf';
import { type LayerSpec, type ModelSpec, layerShapes } from './spec';

/** Deterministic per-layer seed, so that every layer gets a different stream. */
function layerSeed(seed: number, index: number): number {
	return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + index * 0x27d4eb2f) >>> 0;
}

function makeLayer(tf: Tf, layer: LayerSpec, seed: number, inputShape?: number[]) {
	const first = inputShape ? { inputShape } : {};
	const kernelInitializer = tf.initializers.glorotUniform({ seed });
	const biasInitializer = tf.initializers.zeros();
	switch (layer.type) {
		case 'dense':
			return tf.layers.dense({ ...first, units: layer.units, activation: layer.activation, kernelInitializer, biasInitializer });
		case 'conv2d':
		case 'conv1d': {
			const config = {
				...first,
				filters: layer.filters,
				kernelSize: layer.kernelSize,
				activation: layer.activation,
				padding: layer.padding,
				kernelInitializer,
				biasInitializer
			};
			return layer.type === 'conv2d' ? tf.layers.conv2d(config) : tf.layers.conv1d(config);
		}
		case 'maxPooling2d':
			return tf.layers.maxPooling2d({ ...first, poolSize: layer.poolSize });
		case 'maxPooling1d':
			return tf.layers.maxPooling1d({ ...first, poolSize: layer.poolSize });
		case 'gru':
			return tf.layers.gru({
				...first,
				units: layer.units,
				activation: 'tanh',
				recurrentActivation: 'sigmoid',
				kernelInitializer,
				// glorotUniform, not tfjs's default orthogonal: that one runs a QR decomposition per
				// build and warns above 2,000 elements; a second stream keeps it independent of the kernel.
				recurrentInitializer: tf.initializers.glorotUniform({ seed: (seed ^ 0x5bd1e995) >>> 0 }),
				biasInitializer
			});
		case 'flatten':
			return tf.layers.flatten(first);
	}
}

/** Builds the model on the current backend; the same seed gives the same initial weights. */
export function buildModel(tf: Tf, spec: ModelSpec, seed: number): LayersModel {
	layerShapes(spec); // throws early on an inconsistent spec
	const model = tf.sequential({ name: spec.name });
	spec.layers.forEach((layer, i) => model.add(makeLayer(tf, layer, layerSeed(seed, i), i === 0 ? spec.inputShape : undefined)));
	return model;
}
