import { describe, expect, it } from 'vitest';
import { firstPerClass, imageFileName } from './fashion-images';

describe('fashion image folder', () => {
	it('takes the first images of each class in file order', () => {
		expect(firstPerClass([1, 0, 1, 1, 0, 2, 2, 0], 3, 2)).toEqual([[1, 4], [0, 2], [5, 6]]);
		expect(() => firstPerClass([0, 1, 1], 2, 2)).toThrow('class 0 has only 1 examples, fewer than 2');
		expect(() => firstPerClass([0, 3], 2, 1)).toThrow('label 3 at 1 is outside 0..1');
		expect(() => firstPerClass([0], 1, 0)).toThrow('images per class must be a positive integer');
	});

	it('names files so that a listing sorts in order', () => {
		expect([imageFileName(0), imageFileName(7), imageFileName(123)]).toEqual(['0000.png', '0007.png', '0123.png']);
	});
});
