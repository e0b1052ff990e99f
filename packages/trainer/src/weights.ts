import type { LayersModel, Tf } from './tf';

/** All weights in model.getWeights() order as one contiguous vector (the wire format's order). */
export function flattenWeights(model: LayersModel): Float32Array {
	const tensors = model.getWeights();
	const total = tensors.reduce((n, t) => n + t.size, 0);
	const flat = new Float32Array(total);
	let offset = 0;
	for (const t of tensors) {
		flat.set(t.dataSync() as Float32Array, offset);
		offset += t.size;
	}
	return flat;
}

/** Sizes of the model's weight tensors in getWeights() order. */
export function weightSizes(model: LayersModel): number[] {
	return model.weights.map((w) => w.shape.reduce<number>((a, b) => a * (b ?? 1), 1));
}

/** Loads a flat vector (as produced by flattenWeights) into the model. */
export function setFlatWeights(tf: Tf, model: LayersModel, flat: Float32Array): void {
	const weights = model.weights;
	const sizes = weightSizes(model);
	const total = sizes.reduce((a, b) => a + b, 0);
	if (flat.length !== total) {
		throw new RangeError(`weight vector has ${flat.length} values, model ${model.name} needs ${total}`);
	}
	let offset = 0;
	const tensors = weights.map((w, i) => {
		const t = tf.tensor(flat.subarray(offset, offset + sizes[i]), w.shape as number[], 'float32');
		offset += sizes[i];
		return t;
	});
	try {
		model.setWeights(tensors);
	} finally {
		tf.dispose(tensors);
	}
}
