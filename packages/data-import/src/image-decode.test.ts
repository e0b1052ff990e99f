import type { ImageClassificationTask } from '@qflare/protocol';
import { encode as encodePng } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { convertChannels, decodeImageFile, rgbaToChannels } from './image-decode';
import { resizePixels } from './image-resize';
import { DataImportError } from './errors';

const gray = (width: number, height: number): ImageClassificationTask => ({ kind: 'image-classification', classes: ['a', 'b'], width, height, channels: 1 });
const rgb = (width: number, height: number): ImageClassificationTask => ({ kind: 'image-classification', classes: ['a', 'b'], width, height, channels: 3 });

describe('resizePixels', () => {
	it('averages by area when shrinking', () => {
		// 4x4 gray in 2x2 blocks of distinct means.
		const src = new Uint8Array([0, 10, 100, 110, 20, 30, 120, 130, 200, 210, 50, 50, 220, 230, 60, 70]);
		expect(Array.from(resizePixels(src, 4, 4, 1, 2, 2))).toEqual([15, 115, 215, 58]);
		// 3 -> 2 columns: [0, 30, 60] covers [0, 1.5) and [1.5, 3): (0 + 0.5*30)/1.5 = 10, (0.5*30 + 60)/1.5 = 50.
		expect(Array.from(resizePixels(new Uint8Array([0, 30, 60]), 3, 1, 1, 2, 1))).toEqual([10, 50]);
	});

	it('interpolates linearly between pixel centres when enlarging, clamping at the edges', () => {
		expect(Array.from(resizePixels(new Uint8Array([0, 100]), 2, 1, 1, 4, 1))).toEqual([0, 25, 75, 100]);
		// Channels stay separate.
		expect(Array.from(resizePixels(new Uint8Array([0, 200, 100, 0]), 2, 1, 2, 4, 1))).toEqual([0, 200, 25, 150, 75, 50, 100, 0]);
	});

	it('copies at the same size', () => {
		const src = new Uint8Array([1, 2, 3, 4]);
		expect(resizePixels(src, 2, 2, 1, 2, 2)).toEqual(src);
	});
});

describe('channel conversion', () => {
	it('takes luminance 0.299 R + 0.587 G + 0.114 B for gray and composites alpha over white', () => {
		const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 0, 0, 0, 0, 128]);
		// red 76.245 -> 76; green 149.685 -> 150; blue 29.07 -> 29; transparent -> white; black at alpha 128/255 -> 255 - 255*128/255 = 127.
		expect(Array.from(rgbaToChannels(rgba, 5, 1, 1))).toEqual([76, 150, 29, 255, 127]);
		expect(Array.from(rgbaToChannels(rgba, 5, 1, 3))).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 127, 127, 127]);
		expect(Array.from(convertChannels(new Uint8Array([7, 200]), 2, 1, 3))).toEqual([7, 7, 7, 200, 200, 200]);
		expect(() => rgbaToChannels(rgba, 2, 2, 1)).toThrow(RangeError);
	});
});

describe('decodeImageFile', () => {
	it('decodes an 8-bit gray PNG and shrinks it by area', () => {
		const data = new Uint8Array([0, 10, 100, 110, 20, 30, 120, 130, 200, 210, 50, 50, 220, 230, 60, 70]);
		const png = encodePng({ width: 4, height: 4, data, channels: 1, depth: 8 });
		expect(Array.from(decodeImageFile(png, gray(4, 4), 'g.png'))).toEqual(Array.from(data));
		expect(Array.from(decodeImageFile(png, gray(2, 2), 'g.png'))).toEqual([15, 115, 215, 58]);
		// Gray to RGB repeats the value.
		expect(Array.from(decodeImageFile(png, rgb(2, 2), 'g.png'))).toEqual([15, 15, 15, 115, 115, 115, 215, 215, 215, 58, 58, 58]);
	});

	it('decodes RGB, RGBA and 16-bit PNGs to the task channels', () => {
		const rgbPng = encodePng({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]), channels: 3, depth: 8 });
		expect(Array.from(decodeImageFile(rgbPng, gray(2, 2), 'c.png'))).toEqual([76, 29, 76, 29]);
		const rgbaPng = encodePng({ width: 1, height: 1, data: new Uint8Array([0, 0, 0, 0]), channels: 4, depth: 8 });
		expect(Array.from(decodeImageFile(rgbaPng, rgb(4, 4), 't.png'))).toEqual(Array(48).fill(255));
		const deep = encodePng({ width: 2, height: 1, data: new Uint16Array([65535, 128 * 257]), channels: 1, depth: 16 });
		expect(Array.from(decodeImageFile(deep, gray(2, 2), 'd.png'))).toEqual([255, 128, 255, 128]);
	});

	it('decodes palette and 1-bit PNGs', () => {
		// 4 pixels, 2-bit indexes 0,1,2,3 packed in one byte: 0b00011011.
		const palette = [
			[0, 0, 0],
			[255, 0, 0],
			[0, 255, 0],
			[255, 255, 255]
		];
		const indexed = encodePng({ width: 4, height: 1, data: new Uint8Array([0b00011011]), channels: 1, depth: 2, palette });
		expect(Array.from(decodeImageFile(indexed, rgb(4, 4), 'p.png').subarray(0, 12))).toEqual([0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255]);
		const bits = encodePng({ width: 4, height: 1, data: new Uint8Array([0b10100000]), channels: 1, depth: 1 });
		expect(Array.from(decodeImageFile(bits, gray(4, 4), 'b.png').subarray(0, 4))).toEqual([255, 0, 255, 0]);
	});

	it('decodes a JPEG (lossy: within a few levels)', () => {
		const width = 16;
		const height = 16;
		const data = new Uint8Array(width * height * 4);
		for (let p = 0; p < width * height; p++) data.set([200, 100, 50, 255], p * 4);
		const file = new Uint8Array(jpeg.encode({ width, height, data }, 100).data);
		const pixels = decodeImageFile(file, rgb(8, 8), 'photo.jpg');
		expect(pixels).toHaveLength(8 * 8 * 3);
		for (let p = 0; p < 64; p++) {
			expect(Math.abs(pixels[p * 3] - 200)).toBeLessThanOrEqual(3);
			expect(Math.abs(pixels[p * 3 + 1] - 100)).toBeLessThanOrEqual(3);
			expect(Math.abs(pixels[p * 3 + 2] - 50)).toBeLessThanOrEqual(3);
		}
		// 0.299*200 + 0.587*100 + 0.114*50 = 124.2
		const luminance = decodeImageFile(file, gray(4, 4), 'photo.jpg');
		for (const v of luminance) expect(Math.abs(v - 124)).toBeLessThanOrEqual(3);
	});

	it('turns a JPEG upright by its EXIF orientation, as browsers do', () => {
		// 16 wide x 8 high: left half black, right half white; orientation 6 = rotate 90 degrees clockwise.
		const data = new Uint8Array(16 * 8 * 4);
		for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) data.set(x < 8 ? [0, 0, 0, 255] : [255, 255, 255, 255], (y * 16 + x) * 4);
		const tiff = [0x49, 0x49, 0x2a, 0x00, 0x08, 0, 0, 0, 0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0, 0x06, 0x00, 0, 0, 0, 0, 0, 0];
		const exifBuffer = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]);
		const file = new Uint8Array(jpeg.encode({ width: 16, height: 8, data, exifBuffer } as Parameters<typeof jpeg.encode>[0], 100).data);
		const pixels = decodeImageFile(file, gray(8, 16), 'phone.jpg');
		// Upright it is 8 wide x 16 high: the black half on top.
		expect(pixels[2 * 8 + 4]).toBeLessThan(10);
		expect(pixels[13 * 8 + 4]).toBeGreaterThan(245);
	});

	it('names a file that is not an image or does not decode', () => {
		const fail = (bytes: Uint8Array, name: string) => {
			try {
				decodeImageFile(bytes, gray(4, 4), name);
			} catch (error) {
				expect(error).toBeInstanceOf(DataImportError);
				return (error as DataImportError).problems[0];
			}
			throw new Error('expected a DataImportError');
		};
		expect(fail(new TextEncoder().encode('hello'), 'cats/notes.png')).toBe('cats/notes.png is not a PNG or JPEG image');
		const png = encodePng({ width: 4, height: 4, data: new Uint8Array(16), channels: 1, depth: 8 });
		expect(fail(png.slice(0, 40), 'cats/cut.png')).toMatch(/^cats\/cut\.png could not be decoded as a PNG image \(.+\)$/);
		expect(fail(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2, 1, 2, 3]), 'cats/bad.jpg')).toMatch(/^cats\/bad\.jpg could not be decoded as a JPEG image/);
	});
});
