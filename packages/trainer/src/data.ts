import type { ModelObjective } from './spec';

/**
 * Inputs with targets, `count` rows. images: count x inputSize values, either pixels 0..255
 * (Uint8Array, scaled by 1/255 for the model) or values used as they are (Float32Array, already
 * standardised). labels: class indices (Uint8Array, count) for classification, or standardised
 * targets (Float32Array, count x outputs) for regression. The protocol's LabelledSet fits it.
 */
export type LabelledData = { count: number; images: Uint8Array | Float32Array; labels: Uint8Array | Float32Array };

/** Model inputs without targets, e.g. rows to predict. */
export type ModelInputs = Uint8Array | Float32Array;

export function checkInputs(inputs: ModelInputs, count: number, sampleSize: number): void {
	if (!(Number.isInteger(count) && count > 0)) throw new RangeError(`count must be a positive integer, got ${count}`);
	if (inputs.length !== count * sampleSize) {
		throw new RangeError(`images has ${inputs.length} values, expected ${count} x ${sampleSize}`);
	}
	if (inputs instanceof Float32Array) {
		for (let i = 0; i < inputs.length; i++) {
			if (!Number.isFinite(inputs[i])) throw new RangeError(`input value ${inputs[i]} at row ${Math.floor(i / sampleSize)}, column ${i % sampleSize} is not finite`);
		}
	}
}

export function checkData(data: LabelledData, sampleSize: number, objective: ModelObjective): void {
	if (!(data.count > 0)) throw new RangeError('data set is empty');
	checkInputs(data.images, data.count, sampleSize);
	if (objective.type === 'classification') {
		if (!(data.labels instanceof Uint8Array)) throw new TypeError('classification labels must be a Uint8Array of class indices');
		if (data.labels.length !== data.count) throw new RangeError(`labels has ${data.labels.length} entries, expected ${data.count}`);
		for (let i = 0; i < data.count; i++) {
			if (data.labels[i] >= objective.numClasses) throw new RangeError(`label ${data.labels[i]} at ${i} is not below ${objective.numClasses}`);
		}
		return;
	}
	if (!(data.labels instanceof Float32Array)) throw new TypeError('regression targets must be a Float32Array');
	const width = objective.outputs;
	if (data.labels.length !== data.count * width) throw new RangeError(`targets has ${data.labels.length} values, expected ${data.count} x ${width}`);
	for (let i = 0; i < data.labels.length; i++) {
		if (!Number.isFinite(data.labels[i])) throw new RangeError(`target ${data.labels[i]} at row ${Math.floor(i / width)} is not finite`);
	}
}

/** Copies rows of model inputs into a float batch: pixels scaled to [0, 1], floats as they are. */
export function gatherInputs(inputs: ModelInputs, sampleSize: number, indices: ArrayLike<number> | null, start: number, end: number): Float32Array {
	const n = end - start;
	const x = new Float32Array(n * sampleSize);
	const scale = inputs instanceof Uint8Array ? 1 / 255 : 1;
	for (let r = 0; r < n; r++) {
		const idx = indices ? indices[start + r] : start + r;
		const src = idx * sampleSize;
		if (scale === 1) x.set(inputs.subarray(src, src + sampleSize), r * sampleSize);
		else for (let j = 0; j < sampleSize; j++) x[r * sampleSize + j] = inputs[src + j] * scale;
	}
	return x;
}

/**
 * Copies the chosen rows into a batch: x as gatherInputs does; y as class indices (Int32Array,
 * for Uint8Array labels) or n x width targets (Float32Array, width = labels per row).
 */
export function gatherBatch(data: LabelledData, sampleSize: number, indices: ArrayLike<number>, start: number, end: number) {
	const n = end - start;
	const x = gatherInputs(data.images, sampleSize, indices, start, end);
	let y: Int32Array | Float32Array;
	if (data.labels instanceof Uint8Array) {
		y = new Int32Array(n);
		for (let r = 0; r < n; r++) y[r] = data.labels[indices[start + r]];
	} else {
		const width = data.labels.length / data.count;
		y = new Float32Array(n * width);
		for (let r = 0; r < n; r++) {
			const src = indices[start + r] * width;
			y.set(data.labels.subarray(src, src + width), r * width);
		}
	}
	return { x, y, n };
}

/** mulberry32: small, fast, good enough for shuffling. */
export function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Fisher-Yates permutation of 0..count-1 for a given seed. */
export function shuffledIndices(count: number, seed: number): Uint32Array {
	const idx = new Uint32Array(count);
	for (let i = 0; i < count; i++) idx[i] = i;
	const rand = mulberry32(seed);
	for (let i = count - 1; i > 0; i--) {
		const j = Math.floor(rand() * (i + 1));
		const t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	return idx;
}
