import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { parseIdxImages, parseIdxLabels } from './idx';
import { IMAGE_HEIGHT, IMAGE_WIDTH, imageSet, type DatasetSplits } from './image-set';
import type { LabelledSet } from '@qflare/protocol';

/** Where Debian's dataset-fashion-mnist package installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const gunzipAsync = promisify(gunzip);

async function readGz(dir: string, name: string): Promise<Uint8Array> {
	const file = join(dir, name);
	try {
		await access(file);
	} catch {
		throw new Error(
			`fashion-mnist: ${file} is missing; install it with \`apt-get install -y dataset-fashion-mnist\``
		);
	}
	return new Uint8Array(await gunzipAsync(await readFile(file)));
}

async function loadSplit(dir: string, prefix: 'train' | 't10k'): Promise<LabelledSet> {
	const [imageBytes, labelBytes] = await Promise.all([
		readGz(dir, `${prefix}-images-idx3-ubyte.gz`),
		readGz(dir, `${prefix}-labels-idx1-ubyte.gz`)
	]);
	const images = parseIdxImages(imageBytes, `fashion-mnist ${prefix} images`);
	const labels = parseIdxLabels(labelBytes, `fashion-mnist ${prefix} labels`);
	if (images.rows !== IMAGE_HEIGHT || images.cols !== IMAGE_WIDTH) {
		throw new Error(`fashion-mnist ${prefix}: images are ${images.rows}x${images.cols}, expected 28x28`);
	}
	if (images.count !== labels.length) {
		throw new Error(`fashion-mnist ${prefix}: ${images.count} images but ${labels.length} labels`);
	}
	return imageSet(images.pixels, labels);
}

/** The official split: 60,000 train, 10,000 test (t10k). */
export async function loadFashionMnist(dir = FASHION_MNIST_DIR): Promise<DatasetSplits> {
	const [train, test] = await Promise.all([loadSplit(dir, 'train'), loadSplit(dir, 't10k')]);
	return { train, test };
}
