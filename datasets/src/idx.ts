// IDX files (LeCun's MNIST format): big-endian u32 magic, u32 dims, then unsigned bytes.

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

export interface IdxImages {
	count: number;
	rows: number;
	cols: number;
	pixels: Uint8Array;
}

function header(bytes: Uint8Array, words: number, what: string): DataView {
	if (bytes.length < words * 4) throw new Error(`${what}: ${bytes.length} bytes is shorter than the IDX header`);
	return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function parseIdxImages(bytes: Uint8Array, what = 'IDX images'): IdxImages {
	const view = header(bytes, 4, what);
	const magic = view.getUint32(0);
	if (magic !== IMAGES_MAGIC) throw new Error(`${what}: magic ${magic}, expected ${IMAGES_MAGIC}`);
	const count = view.getUint32(4);
	const rows = view.getUint32(8);
	const cols = view.getUint32(12);
	const expected = 16 + count * rows * cols;
	if (bytes.length !== expected) throw new Error(`${what}: ${bytes.length} bytes, header implies ${expected}`);
	return { count, rows, cols, pixels: bytes.subarray(16) };
}

export function parseIdxLabels(bytes: Uint8Array, what = 'IDX labels'): Uint8Array {
	const view = header(bytes, 2, what);
	const magic = view.getUint32(0);
	if (magic !== LABELS_MAGIC) throw new Error(`${what}: magic ${magic}, expected ${LABELS_MAGIC}`);
	const count = view.getUint32(4);
	if (bytes.length !== 8 + count) throw new Error(`${what}: ${bytes.length} bytes, header implies ${8 + count}`);
	return bytes.subarray(8);
}
