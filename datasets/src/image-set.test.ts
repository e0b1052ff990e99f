import { describe, expect, it } from 'vitest';
import { imageSet, shardOf } from './image-set';

describe('shardOf', () => {
	const pixels = new Uint8Array(3 * 784);
	pixels.fill(10, 0, 784);
	pixels.fill(20, 784, 1568);
	pixels.fill(30, 1568);
	const set = imageSet(pixels, Uint8Array.from([4, 5, 6]));

	it('copies the chosen examples in the given order', () => {
		const shard = shardOf(set, [2, 0]);
		expect(shard.count).toBe(2);
		expect(Array.from(shard.labels)).toEqual([6, 4]);
		expect(shard.images[0]).toBe(30);
		expect(shard.images[783]).toBe(30);
		expect(shard.images[784]).toBe(10);
		expect(shard.images.length).toBe(1568);
		shard.images[0] = 99;
		expect(set.images[1568]).toBe(30);
	});

	it('rejects indices outside the set', () => {
		expect(() => shardOf(set, [3])).toThrow('index 3 is outside 0..2');
	});

	it('imageSet checks sizes and labels', () => {
		expect(() => imageSet(new Uint8Array(784), new Uint8Array(2))).toThrow('784 pixel bytes do not match 2 labels');
		expect(() => imageSet(new Uint8Array(784), Uint8Array.from([10]))).toThrow('label 10 at 0 is not below 10');
	});
});
