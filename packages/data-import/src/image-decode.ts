import type { ImageClassificationTask } from '@qflare/protocol';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { DataImportError } from './errors';
import { resizePixels } from './image-resize';
import { applyOrientation, exifOrientation } from './jpeg-orientation';

/** Larger pictures are refused before decoding: 50 megapixels of RGBA is already 200 MB. */
export const MAX_IMAGE_PIXELS = 50_000_000;

type SourceChannels = 1 | 2 | 3 | 4;

interface DecodedPixels {
	data: Uint8Array;
	width: number;
	height: number;
	channels: SourceChannels;
}

/**
 * Converts interleaved 8-bit pixels (gray, gray+alpha, RGB, RGBA) to the task's channels.
 * Transparency is composited over white, as a page shows it; grayscale is the luminance
 * 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), rounded; gray becomes RGB by repetition.
 */
export function convertChannels(data: ArrayLike<number>, pixelCount: number, from: SourceChannels, to: 1 | 3): Uint8Array {
	if (data.length !== pixelCount * from) throw new RangeError(`pixels has ${data.length} values, expected ${pixelCount} x ${from}`);
	const out = new Uint8Array(pixelCount * to);
	const hasAlpha = from === 2 || from === 4;
	for (let p = 0; p < pixelCount; p++) {
		const at = p * from;
		let r: number;
		let g: number;
		let b: number;
		if (from <= 2) r = g = b = data[at];
		else {
			r = data[at];
			g = data[at + 1];
			b = data[at + 2];
		}
		if (hasAlpha) {
			const a = data[at + from - 1] / 255;
			r = 255 - (255 - r) * a;
			g = 255 - (255 - g) * a;
			b = 255 - (255 - b) * a;
		}
		if (to === 1) out[p] = Math.round(from <= 2 ? r : 0.299 * r + 0.587 * g + 0.114 * b);
		else {
			out[p * 3] = Math.round(r);
			out[p * 3 + 1] = Math.round(g);
			out[p * 3 + 2] = Math.round(b);
		}
	}
	return out;
}

/** RGBA from a canvas (the worker's OffscreenCanvas path) to the task's 1 or 3 channels, same size. */
export function rgbaToChannels(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 1 | 3): Uint8Array {
	return convertChannels(rgba, width * height, 4, channels);
}

/** Unpacks 1/2/4-bit samples (rows padded to whole bytes) into one byte per sample. */
function unpackSamples(data: ArrayLike<number>, width: number, height: number, depth: number): Uint8Array {
	const out = new Uint8Array(width * height);
	const rowBytes = Math.ceil((width * depth) / 8);
	const mask = (1 << depth) - 1;
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const bit = x * depth;
			const byte = data[y * rowBytes + (bit >> 3)];
			out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
		}
	}
	return out;
}

function pngPixels(png: DecodedPng): DecodedPixels {
	const { width, height, depth } = png;
	const channels = png.channels as SourceChannels;
	if (png.palette) {
		const indexes = depth < 8 ? unpackSamples(png.data, width, height, depth) : png.data;
		const alpha = png.palette.some((color) => color.length === 4);
		const stride = alpha ? 4 : 3;
		const data = new Uint8Array(width * height * stride);
		for (let p = 0; p < width * height; p++) {
			const color = png.palette[indexes[p]];
			if (!color) throw new Error(`palette index ${indexes[p]} is out of range`);
			for (let c = 0; c < stride; c++) data[p * stride + c] = c < color.length ? color[c] : 255;
		}
		return { data, width, height, channels: stride };
	}
	if (depth < 8) {
		const samples = unpackSamples(png.data, width, height, depth);
		const scale = 255 / ((1 << depth) - 1);
		return { data: samples.map((v) => Math.round(v * scale)), width, height, channels };
	}
	if (depth === 16) {
		const data = Uint8Array.from(png.data, (v) => Math.round(v / 257));
		return { data, width, height, channels };
	}
	const data = png.data instanceof Uint8Array ? png.data : Uint8Array.from(png.data);
	return { data, width, height, channels };
}

function isPng(bytes: Uint8Array): boolean {
	return bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

function isJpeg(bytes: Uint8Array): boolean {
	return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function reason(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Decodes a PNG or JPEG file (by its bytes, not its name) to upright 8-bit pixels at full size. */
export function decodePixels(bytes: Uint8Array, name: string): DecodedPixels {
	if (isPng(bytes)) {
		// IHDR sits right after the signature: width and height are known before any decoding.
		const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		if (bytes.length >= 24 && view.getUint32(16) * view.getUint32(20) > MAX_IMAGE_PIXELS) {
			throw new DataImportError([`${name} is too large (${view.getUint32(16)} x ${view.getUint32(20)} pixels; the limit is 50 megapixels)`]);
		}
		try {
			return pngPixels(decodePng(bytes));
		} catch (error) {
			throw new DataImportError([`${name} could not be decoded as a PNG image (${reason(error)})`]);
		}
	}
	if (isJpeg(bytes)) {
		let image: { width: number; height: number; data: Uint8Array; exifBuffer?: Uint8Array };
		try {
			image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
		} catch (error) {
			throw new DataImportError([`${name} could not be decoded as a JPEG image (${reason(error)})`]);
		}
		const upright = applyOrientation(image.data, image.width, image.height, 3, exifOrientation(image.exifBuffer));
		return { data: upright.pixels, width: upright.width, height: upright.height, channels: 3 };
	}
	throw new DataImportError([`${name} is not a PNG or JPEG image`]);
}

/**
 * Decodes a PNG or JPEG file and returns its pixels as the task needs them: width x height x
 * channels (HWC, 0..255), converted (gray by luminance, alpha over white) and resized (area
 * averaging when shrinking, bilinear when enlarging). An undecodable file throws a
 * DataImportError naming it. Used by the Node CLI and the server's predict endpoint; the page
 * decodes with createImageBitmap and calls rgbaToChannels.
 */
export function decodeImageFile(bytes: Uint8Array, task: ImageClassificationTask, name: string): Uint8Array {
	const image = decodePixels(bytes, name);
	if (image.width === 0 || image.height === 0) throw new DataImportError([`${name} has no pixels`]);
	const converted = convertChannels(image.data, image.width * image.height, image.channels, task.channels);
	return resizePixels(converted, image.width, image.height, task.channels, task.width, task.height);
}
