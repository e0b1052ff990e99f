import type { ModelName } from '@qflare/protocol';

export type { ModelName };

/** JSON-serialisable description of a model; the server sends it to participants. */
export type Activation = 'relu' | 'softmax' | 'linear' | 'sigmoid' | 'tanh';

export type LayerSpec =
	| { type: 'dense'; units: number; activation: Activation }
	| { type: 'conv2d'; filters: number; kernelSize: number; activation: Activation; padding: 'same' | 'valid' }
	| { type: 'maxPooling2d'; poolSize: number }
	| { type: 'flatten' };

export type ModelSpec = { name: string; inputShape: number[]; layers: LayerSpec[] };

export const MODEL_SPECS: Record<ModelName, ModelSpec> = {
	// McMahan et al. 2017, "2NN": 784-200-200-10.
	mlp: {
		name: 'mlp',
		inputShape: [784],
		layers: [
			{ type: 'dense', units: 200, activation: 'relu' },
			{ type: 'dense', units: 200, activation: 'relu' },
			{ type: 'dense', units: 10, activation: 'softmax' }
		]
	},
	// McMahan et al. 2017 MNIST CNN.
	cnn: {
		name: 'cnn',
		inputShape: [28, 28, 1],
		layers: [
			{ type: 'conv2d', filters: 32, kernelSize: 5, activation: 'relu', padding: 'same' },
			{ type: 'maxPooling2d', poolSize: 2 },
			{ type: 'conv2d', filters: 64, kernelSize: 5, activation: 'relu', padding: 'same' },
			{ type: 'maxPooling2d', poolSize: 2 },
			{ type: 'flatten' },
			{ type: 'dense', units: 512, activation: 'relu' },
			{ type: 'dense', units: 10, activation: 'softmax' }
		]
	}
};

/** Output shape of each layer (without the batch dimension), checked without tfjs. */
export function layerShapes(spec: ModelSpec): number[][] {
	const shapes: number[][] = [];
	let shape = [...spec.inputShape];
	for (const layer of spec.layers) {
		switch (layer.type) {
			case 'dense':
				if (shape.length !== 1) throw new Error(`dense layer needs a flat input, got [${shape}]`);
				shape = [layer.units];
				break;
			case 'conv2d': {
				if (shape.length !== 3) throw new Error(`conv2d layer needs [h, w, c], got [${shape}]`);
				const [h, w] = shape;
				const k = layer.kernelSize;
				shape = layer.padding === 'same' ? [h, w, layer.filters] : [h - k + 1, w - k + 1, layer.filters];
				break;
			}
			case 'maxPooling2d': {
				if (shape.length !== 3) throw new Error(`maxPooling2d layer needs [h, w, c], got [${shape}]`);
				const [h, w, c] = shape;
				// tfjs default: strides = poolSize, padding 'valid'.
				shape = [Math.floor(h / layer.poolSize), Math.floor(w / layer.poolSize), c];
				break;
			}
			case 'flatten':
				shape = [shape.reduce((a, b) => a * b, 1)];
				break;
		}
		if (shape.some((d) => !(d > 0))) throw new Error(`layer ${layer.type} yields an empty shape [${shape}]`);
		shapes.push(shape);
	}
	return shapes;
}

/** Number of trainable parameters, from the spec alone. */
export function parameterCount(spec: ModelSpec): number {
	const shapes = layerShapes(spec);
	let count = 0;
	let input = spec.inputShape;
	spec.layers.forEach((layer, i) => {
		if (layer.type === 'dense') count += input[0] * layer.units + layer.units;
		if (layer.type === 'conv2d') count += layer.kernelSize * layer.kernelSize * input[2] * layer.filters + layer.filters;
		input = shapes[i];
	});
	return count;
}

/** Number of values one input sample has (e.g. 784 for 28x28x1). */
export function inputSize(spec: ModelSpec): number {
	return spec.inputShape.reduce((a, b) => a * b, 1);
}

/** Number of classes the model predicts (the last layer's width). */
export function outputSize(spec: ModelSpec): number {
	const shapes = layerShapes(spec);
	const last = shapes[shapes.length - 1];
	if (!last || last.length !== 1) throw new Error(`model ${spec.name} must end in a flat layer`);
	return last[0];
}
