import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode } from 'fast-png';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../fashion-mnist';
import { FASHION_FOLDER_CLASSES } from './example-tasks';

/** The first `perClass` indices of every class, in file order; an error when a class has fewer. */
export function firstPerClass(labels: ArrayLike<number>, numClasses: number, perClass: number): number[][] {
	if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`images per class must be a positive integer, got ${perClass}`);
	const picked: number[][] = Array.from({ length: numClasses }, () => []);
	for (let i = 0; i < labels.length; i++) {
		const members = picked[labels[i]];
		if (!members) throw new Error(`label ${labels[i]} at ${i} is outside 0..${numClasses - 1}`);
		if (members.length < perClass) members.push(i);
	}
	const short = picked.findIndex((m) => m.length < perClass);
	if (short >= 0) throw new Error(`class ${short} has only ${picked[short].length} examples, fewer than ${perClass}`);
	return picked;
}

/** File name of the n-th image of a class: zero-padded so a listing sorts in order. */
export function imageFileName(n: number): string {
	return `${String(n).padStart(4, '0')}.png`;
}

/**
 * Writes `<dir>/<class>/<n>.png`: the first `perClass` Fashion-MNIST training images of every
 * class as 28x28 grayscale PNGs. Built beside `dir` and renamed into place, so a reader never
 * sees half a folder. Returns the number of images.
 */
export async function writeFashionImageFolder(dir: string, perClass: number, sourceDir = FASHION_MNIST_DIR): Promise<number> {
	const { train } = await loadFashionMnist(sourceDir);
	const picked = firstPerClass(train.labels, train.numClasses, perClass);
	const pixels = train.width * train.height;
	await mkdir(path.dirname(dir), { recursive: true });
	const work = await mkdtemp(`${dir}.building-`);
	try {
		for (let c = 0; c < picked.length; c++) {
			const classDir = path.join(work, FASHION_FOLDER_CLASSES[c]);
			await mkdir(classDir);
			await Promise.all(
				picked[c].map((index, n) => {
					const png = encode({
						width: train.width,
						height: train.height,
						data: train.images.subarray(index * pixels, (index + 1) * pixels),
						channels: 1,
						depth: 8
					});
					return writeFile(path.join(classDir, imageFileName(n)), png);
				})
			);
		}
		// mkdtemp makes the folder private (0700); the examples are for everyone on the machine.
		await chmod(work, 0o755);
		await rm(dir, { recursive: true, force: true });
		await rename(work, dir);
	} finally {
		await rm(work, { recursive: true, force: true });
	}
	return perClass * picked.length;
}
