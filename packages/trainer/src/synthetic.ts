import type { LabelledData } from './data';
import { mulberry32 } from './data';

/**
 * A learnable 28x28 stand-in for MNIST in tests and smoke runs: class c lights up a 3-pixel
 * horizontal band at row 2 + 2.5c, over uniform noise.
 */
export function syntheticDigits(count: number, seed = 1, classes = 10): LabelledData & { images: Uint8Array; labels: Uint8Array } {
	const rand = mulberry32(seed);
	const images = new Uint8Array(count * 784);
	const labels = new Uint8Array(count);
	for (let i = 0; i < count; i++) {
		const c = i % classes;
		labels[i] = c;
		const top = 2 + Math.floor(c * 2.5);
		for (let p = 0; p < 784; p++) {
			const row = Math.floor(p / 28);
			const band = row >= top && row < top + 3;
			images[i * 784 + p] = band ? 160 + Math.floor(rand() * 96) : Math.floor(rand() * 90);
		}
	}
	return { count, images, labels };
}
