import { MODELS_FOR_TASK, demoTask, type ModelName, type RegressionLoss, type TaskSchema, taskInputShape, taskObjective } from '@qflare/protocol';

export type { ModelName };

/** JSON-serialisable description of a model; the server sends it to participants. */
export type Activation = 'relu' | 'softmax' | 'linear' | 'sigmoid' | 'tanh';

export type LayerSpec =
	| { type: 'dense'; units: number; activation: Activation }
	| { type: 'conv2d'; filters: number; kernelSize: number; activation: Activation; padding: 'same' | 'valid' }
	| { type: 'maxPooling2d'; poolSize: number }
	/** Over [steps, channels]; tfjs runs it as a conv2d, so it needs the same gradient kernels. */
	| { type: 'conv1d'; filters: number; kernelSize: number; activation: Activation; padding: 'same' | 'valid' }
	| { type: 'maxPooling1d'; poolSize: number }
	/** tanh cell, sigmoid gates, reset gate before the matmul (tfjs supports only resetAfter = false); last state only. */
	| { type: 'gru'; units: number }
	| { type: 'flatten' };

/** What the model's output means, and so which loss trains it. */
export type ModelObjective =
	| { type: 'classification'; numClasses: number }
	| { type: 'regression'; loss: RegressionLoss; outputs: number };

export type ModelSpec = { name: string; inputShape: number[]; layers: LayerSpec[]; objective: ModelObjective };

type DemoModelName = 'mlp' | 'cnn';

/** The demo data sets' models (28x28x1, 10 classes): modelSpec(name, demoTask(...)). */
export const MODEL_SPECS: Readonly<Record<DemoModelName, ModelSpec>> = {
	mlp: modelSpec('mlp', demoTask('mnist')),
	cnn: modelSpec('cnn', demoTask('mnist'))
};

/** Two same-padded relu convolutions, each followed by 2x2 max pooling, then a dense relu layer. */
function convNet(filters1: number, filters2: number, kernelSize: number, units: number): LayerSpec[] {
	return [
		{ type: 'conv2d', filters: filters1, kernelSize, activation: 'relu', padding: 'same' },
		{ type: 'maxPooling2d', poolSize: 2 },
		{ type: 'conv2d', filters: filters2, kernelSize, activation: 'relu', padding: 'same' },
		{ type: 'maxPooling2d', poolSize: 2 },
		{ type: 'flatten' },
		{ type: 'dense', units, activation: 'relu' }
	];
}

function head(objective: ModelObjective): LayerSpec {
	return objective.type === 'classification'
		? { type: 'dense', units: objective.numClasses, activation: 'softmax' }
		: { type: 'dense', units: objective.outputs, activation: 'linear' };
}

/**
 * The zoo's model `model` for `task`: input shape from the task, a softmax head over its classes
 * or a linear head of its outputs. Throws for a model that does not fit the task's kind.
 */
export function modelSpec(model: ModelName, task: TaskSchema): ModelSpec {
	const fits = MODELS_FOR_TASK[task.kind];
	if (!fits.includes(model)) throw new Error(`model ${model} does not fit a ${task.kind} task; it takes ${fits.join(', ')}`);
	const t = taskObjective(task);
	const objective: ModelObjective =
		t.type === 'classification' ? { type: 'classification', numClasses: t.classes.length } : { type: 'regression', loss: t.loss, outputs: t.outputs };
	const inputShape = taskInputShape(task);
	const size = inputShape.reduce((a, b) => a * b, 1);
	const spec = (shape: number[], layers: LayerSpec[]): ModelSpec => ({ name: model, inputShape: shape, layers: [...layers, head(objective)], objective });

	switch (task.kind) {
		case 'image-classification':
			// McMahan et al. 2017, "2NN": 784-200-200-10.
			if (model === 'mlp') {
				return spec([size], [
					{ type: 'dense', units: 200, activation: 'relu' },
					{ type: 'dense', units: 200, activation: 'relu' }
				]);
			}
			// McMahan et al. 2017 MNIST CNN; cnn-small: about 137k parameters at 32x32x3 against the CNN's 2.1M.
			return spec(inputShape, model === 'cnn' ? convNet(32, 64, 5, 512) : convNet(16, 32, 3, 64));
		case 'tabular':
			// Tabular sets have tens of columns and hundreds to thousands of rows: small hidden layers.
			return model === 'logistic'
				? spec(inputShape, [])
				: spec(inputShape, [
						{ type: 'dense', units: 64, activation: 'relu' },
						{ type: 'dense', units: 32, activation: 'relu' }
					]);
		case 'time-series': {
			if (model === 'gru') return spec(inputShape, [{ type: 'gru', units: 32 }]);
			// Flatten, not global pooling: a forecast depends on where in the window a value sits.
			const pool: LayerSpec[] = inputShape[0] >= 4 ? [{ type: 'maxPooling1d', poolSize: 2 }] : [];
			return spec(inputShape, [
				{ type: 'conv1d', filters: 32, kernelSize: 3, activation: 'relu', padding: 'same' },
				...pool,
				{ type: 'conv1d', filters: 32, kernelSize: 3, activation: 'relu', padding: 'same' },
				{ type: 'flatten' },
				{ type: 'dense', units: 32, activation: 'relu' }
			]);
		}
	}
}

function needRank(layer: LayerSpec, shape: number[], rank: number, what: string): void {
	if (shape.length !== rank) throw new Error(`${layer.type} layer needs ${what}, got [${shape}]`);
}

/** Output shape of each layer (without the batch dimension), checked without tfjs; also checks the head against the objective. */
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
				needRank(layer, shape, 3, '[h, w, c]');
				const [h, w] = shape;
				const k = layer.kernelSize;
				shape = layer.padding === 'same' ? [h, w, layer.filters] : [h - k + 1, w - k + 1, layer.filters];
				break;
			}
			case 'maxPooling2d': {
				needRank(layer, shape, 3, '[h, w, c]');
				const [h, w, c] = shape;
				// tfjs default: strides = poolSize, padding 'valid'.
				shape = [Math.floor(h / layer.poolSize), Math.floor(w / layer.poolSize), c];
				break;
			}
			case 'conv1d': {
				needRank(layer, shape, 2, '[steps, channels]');
				shape = [layer.padding === 'same' ? shape[0] : shape[0] - layer.kernelSize + 1, layer.filters];
				break;
			}
			case 'maxPooling1d':
				needRank(layer, shape, 2, '[steps, channels]');
				shape = [Math.floor(shape[0] / layer.poolSize), shape[1]];
				break;
			case 'gru':
				needRank(layer, shape, 2, '[steps, features]');
				shape = [layer.units];
				break;
			case 'flatten':
				shape = [shape.reduce((a, b) => a * b, 1)];
				break;
		}
		if (shape.some((d) => !(d > 0))) throw new Error(`layer ${layer.type} yields an empty shape [${shape}]`);
		shapes.push(shape);
	}
	checkHead(spec, shapes[shapes.length - 1]);
	return shapes;
}

function checkHead(spec: ModelSpec, out: number[] | undefined): void {
	const last = spec.layers[spec.layers.length - 1];
	if (!out || out.length !== 1 || last.type !== 'dense') throw new Error(`model ${spec.name} must end in a dense layer`);
	const o = spec.objective;
	if (o.type === 'classification') {
		if (last.activation !== 'softmax' || out[0] !== o.numClasses) {
			throw new Error(`model ${spec.name} classifies into ${o.numClasses} classes but ends in ${out[0]} ${last.activation} units, not ${o.numClasses} softmax`);
		}
	} else if (last.activation !== 'linear' || out[0] !== o.outputs) {
		throw new Error(`model ${spec.name} predicts ${o.outputs} values but ends in ${out[0]} ${last.activation} units, not ${o.outputs} linear`);
	}
}

/** Number of trainable parameters, from the spec alone (equals tfjs's countParams()). */
export function parameterCount(spec: ModelSpec): number {
	return parameterSegments(spec).reduce((a, b) => a + b, 0);
}

/**
 * Sizes of the model's weight tensors in getWeights() order (the flat vector's order), from the
 * spec alone: what int8 update encoding scales one by one. Equals weightSizes(buildModel(spec)).
 */
export function parameterSegments(spec: ModelSpec): number[] {
	const shapes = layerShapes(spec);
	const sizes: number[] = [];
	let input = spec.inputShape;
	spec.layers.forEach((layer, i) => {
		const channels = input[input.length - 1];
		if (layer.type === 'dense') sizes.push(input[0] * layer.units, layer.units);
		if (layer.type === 'conv2d') sizes.push(layer.kernelSize * layer.kernelSize * channels * layer.filters, layer.filters);
		if (layer.type === 'conv1d') sizes.push(layer.kernelSize * channels * layer.filters, layer.filters);
		// Kernel [in, 3u], recurrent kernel [u, 3u], bias [3u] (tfjs has no resetAfter, so one bias).
		if (layer.type === 'gru') sizes.push(channels * 3 * layer.units, layer.units * 3 * layer.units, 3 * layer.units);
		input = shapes[i];
	});
	return sizes;
}

/** Number of values one input sample has (e.g. 784 for 28x28x1). */
export function inputSize(spec: ModelSpec): number {
	return spec.inputShape.reduce((a, b) => a * b, 1);
}

/** Width of the model's output: the number of classes, or of predicted values. */
export function outputSize(spec: ModelSpec): number {
	const shapes = layerShapes(spec);
	return shapes[shapes.length - 1][0];
}
