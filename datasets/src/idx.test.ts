import { describe, expect, it } from 'vitest';
import { parseIdxImages, parseIdxLabels } from './idx';

function idx(magic: number, dims: number[], body: number[]): Uint8Array {
	const out = new Uint8Array(4 + dims.length * 4 + body.length);
	const view = new DataView(out.buffer);
	view.setUint32(0, magic);
	dims.forEach((d, i) => view.setUint32(4 + i * 4, d));
	out.set(body, 4 + dims.length * 4);
	return out;
}

describe('IDX parsing', () => {
	it('reads big-endian image and label files', () => {
		const images = parseIdxImages(idx(2051, [2, 1, 3], [1, 2, 3, 4, 5, 255]));
		expect(images.count).toBe(2);
		expect([images.rows, images.cols]).toEqual([1, 3]);
		expect(Array.from(images.pixels)).toEqual([1, 2, 3, 4, 5, 255]);
		expect(Array.from(parseIdxLabels(idx(2049, [3], [7, 0, 9])))).toEqual([7, 0, 9]);
	});

	it('rejects wrong magic, short headers and wrong lengths', () => {
		expect(() => parseIdxImages(idx(2049, [1, 1, 1], [0]))).toThrow('magic 2049, expected 2051');
		expect(() => parseIdxLabels(idx(2051, [1], [0]))).toThrow('magic 2051, expected 2049');
		expect(() => parseIdxImages(new Uint8Array(8))).toThrow('shorter than the IDX header');
		expect(() => parseIdxImages(idx(2051, [2, 2, 2], [0, 0, 0]))).toThrow('19 bytes, header implies 24');
		expect(() => parseIdxLabels(idx(2049, [4], [1, 2]))).toThrow('10 bytes, header implies 12');
	});
});
