import type { ImageClassificationTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { DataImportError } from './errors';
import { prepareImages } from './images';

const task: ImageClassificationTask = { kind: 'image-classification', classes: ['cat', 'dog', 'fox'], width: 4, height: 4, channels: 1 };
const image = (value: number) => new Uint8Array(16).fill(value);

describe('prepareImages', () => {
	it('packs pixels HWC and class indices, with a seeded hold-out and a histogram of the training images', () => {
		const entries = [
			{ name: 'p/cat/1.png', label: 'cat', pixels: image(1) },
			{ name: 'p/dog/2.png', label: 'dog', pixels: image(2) },
			{ name: 'p/dog/3.png', label: 'dog', pixels: image(3) },
			{ name: 'p/cat/4.png', label: 'cat', pixels: image(4) }
		];
		const all = prepareImages(entries, task, { holdOutFraction: 0, seed: 5 }, { source: 'p', skipped: ['p/notes.txt (not a PNG or JPEG file)'] });
		expect(all.train.count).toBe(4);
		expect(all.train.inputs).toBeInstanceOf(Uint8Array);
		expect(Array.from(all.train.inputs.subarray(0, 16))).toEqual(Array(16).fill(1));
		expect(Array.from(all.train.inputs.subarray(48))).toEqual(Array(16).fill(4));
		expect(Array.from(all.train.targets)).toEqual([0, 1, 1, 0]);
		expect(all.labelHistogram).toEqual([2, 2, 0]);
		expect(all.stats).toEqual({ columns: {} });
		expect(all.summary.preview).toEqual([
			['p/cat/1.png', 'cat'],
			['p/dog/2.png', 'dog'],
			['p/dog/3.png', 'dog'],
			['p/cat/4.png', 'cat']
		]);
		expect(all.summary.skipped).toEqual(['p/notes.txt (not a PNG or JPEG file)']);

		const split = prepareImages(entries, task, { holdOutFraction: 0.25, seed: 5 });
		expect(split.train.count).toBe(3);
		expect(split.holdOut!.count).toBe(1);
		const held = split.holdOut!.inputs[0];
		expect(split.holdOut!.targets[0]).toBe(held === 1 || held === 4 ? 0 : 1);
		expect(prepareImages(entries, task, { holdOutFraction: 0.25, seed: 5 }).holdOut).toEqual(split.holdOut);
		// The held-out image is p/dog/2.png: the training images are two cats and one dog.
		expect(held).toBe(2);
		expect(split.labelHistogram).toEqual([2, 1, 0]);
	});

	it('names images with a label outside the classes or the wrong size', () => {
		try {
			prepareImages([{ name: 'p/cow/1.png', label: 'cow', pixels: image(0) }, { name: 'p/cat/2.png', label: 'cat', pixels: new Uint8Array(48) }], task, { holdOutFraction: 0, seed: 1 });
			throw new Error('expected a DataImportError');
		} catch (error) {
			expect(error).toBeInstanceOf(DataImportError);
			expect((error as DataImportError).problems).toEqual([
				'p/cow/1.png: the label "cow" is not one of the classes "cat", "dog", "fox"',
				'p/cat/2.png has 48 pixel values; the task needs 4 x 4 x 1 = 16'
			]);
		}
		expect(() => prepareImages([], task, { holdOutFraction: 0, seed: 1 })).toThrow('no images to import');
	});
});
