import { ErrorCode, ProtocolError } from './errors';

/**
 * A labelled image set as the trainer consumes it: grayscale pixels 0-255, row-major,
 * `width * height` bytes per example, and one label byte per example.
 */
export interface LabelledSet {
	count: number;
	width: number;
	height: number;
	numClasses: number;
	/** count * width * height bytes. */
	images: Uint8Array;
	/** count bytes, each < numClasses. */
	labels: Uint8Array;
}

/**
 * Binary wire format of a dataset shard, little-endian:
 *   0  "QFS1" magic
 *   4  u32 example count
 *   8  u16 width
 *  10  u16 height
 *  12  u8 channels (1)
 *  13  u8 numClasses
 *  14  2 reserved bytes (0)
 *  16  images (count * width * height bytes), then labels (count bytes)
 */
export const SHARD_HEADER_BYTES = 16;
const MAGIC = [0x51, 0x46, 0x53, 0x31];

function fail(why: string): never {
	throw new ProtocolError(ErrorCode.DecodeFailed, `shard: ${why}`);
}

function checkSet(set: LabelledSet, report: (why: string) => never): void {
	const { count, width, height, numClasses, images, labels } = set;
	if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) report(`count ${count} is not a u32`);
	if (!Number.isInteger(width) || width < 1 || width > 0xffff) report(`width ${width} is not a positive u16`);
	if (!Number.isInteger(height) || height < 1 || height > 0xffff) report(`height ${height} is not a positive u16`);
	if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 0xff) {
		report(`numClasses ${numClasses} is not in 1..255`);
	}
	if (images.length !== count * width * height) {
		report(`images hold ${images.length} bytes, expected ${count * width * height}`);
	}
	if (labels.length !== count) report(`labels hold ${labels.length} bytes, expected ${count}`);
	for (let i = 0; i < count; i++) {
		if (labels[i] >= numClasses) report(`label ${labels[i]} at ${i} is not below numClasses ${numClasses}`);
	}
}

export function encodedShardBytes(count: number, width: number, height: number): number {
	return SHARD_HEADER_BYTES + count * width * height + count;
}

/** Throws an Error when the set is inconsistent, so a bad shard is never written. */
export function encodeShard(set: LabelledSet): Uint8Array {
	checkSet(set, (why) => {
		throw new Error(`cannot encode shard: ${why}`);
	});
	const pixels = set.count * set.width * set.height;
	const out = new Uint8Array(encodedShardBytes(set.count, set.width, set.height));
	const view = new DataView(out.buffer);
	out.set(MAGIC, 0);
	view.setUint32(4, set.count, true);
	view.setUint16(8, set.width, true);
	view.setUint16(10, set.height, true);
	view.setUint8(12, 1);
	view.setUint8(13, set.numClasses);
	out.set(set.images, SHARD_HEADER_BYTES);
	out.set(set.labels, SHARD_HEADER_BYTES + pixels);
	return out;
}

/**
 * Validates everything and throws ProtocolError(DECODE_FAILED) on malformed input. The
 * returned arrays are copies, so they stay valid if the caller reuses its buffer.
 */
export function decodeShard(bytes: Uint8Array): LabelledSet {
	if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array');
	if (bytes.length < SHARD_HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the ${SHARD_HEADER_BYTES}-byte header`);
	for (let i = 0; i < MAGIC.length; i++) {
		if (bytes[i] !== MAGIC[i]) fail('bad magic, expected "QFS1"');
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const count = view.getUint32(4, true);
	const width = view.getUint16(8, true);
	const height = view.getUint16(10, true);
	const channels = view.getUint8(12);
	const numClasses = view.getUint8(13);
	if (channels !== 1) fail(`channels ${channels} unsupported, expected 1`);
	if (view.getUint16(14, true) !== 0) fail('reserved bytes must be 0');
	if (width === 0 || height === 0) fail(`image size ${width}x${height} is empty`);
	if (numClasses === 0) fail('numClasses must be at least 1');
	const expected = encodedShardBytes(count, width, height);
	if (bytes.length !== expected) fail(`length ${bytes.length} bytes, header implies ${expected}`);
	const pixels = count * width * height;
	const images = bytes.slice(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + pixels);
	const labels = bytes.slice(SHARD_HEADER_BYTES + pixels);
	for (let i = 0; i < count; i++) {
		if (labels[i] >= numClasses) fail(`label ${labels[i]} at ${i} is not below numClasses ${numClasses}`);
	}
	return { count, width, height, numClasses, images, labels };
}
