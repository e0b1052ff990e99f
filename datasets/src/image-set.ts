import type { LabelledSet } from '@qflare/protocol';

export const IMAGE_WIDTH = 28;
export const IMAGE_HEIGHT = 28;
export const PIXELS_PER_IMAGE = IMAGE_WIDTH * IMAGE_HEIGHT;
export const NUM_CLASSES = 10;

export interface DatasetSplits {
	train: LabelledSet;
	test: LabelledSet;
}

export function imageSet(images: Uint8Array, labels: Uint8Array): LabelledSet {
	if (images.length !== labels.length * PIXELS_PER_IMAGE) {
		throw new Error(`${images.length} pixel bytes do not match ${labels.length} labels of 28x28`);
	}
	for (let i = 0; i < labels.length; i++) {
		if (labels[i] >= NUM_CLASSES) throw new Error(`label ${labels[i]} at ${i} is not below ${NUM_CLASSES}`);
	}
	return { count: labels.length, width: IMAGE_WIDTH, height: IMAGE_HEIGHT, numClasses: NUM_CLASSES, images, labels };
}

/** A copy of the examples at `indices`, in that order. */
export function shardOf(set: LabelledSet, indices: number[]): LabelledSet {
	const pixels = set.width * set.height;
	const images = new Uint8Array(indices.length * pixels);
	const labels = new Uint8Array(indices.length);
	indices.forEach((index, i) => {
		if (!Number.isInteger(index) || index < 0 || index >= set.count) {
			throw new Error(`index ${index} is outside 0..${set.count - 1}`);
		}
		images.set(set.images.subarray(index * pixels, (index + 1) * pixels), i * pixels);
		labels[i] = set.labels[index];
	});
	return { count: indices.length, width: set.width, height: set.height, numClasses: set.numClasses, images, labels };
}
