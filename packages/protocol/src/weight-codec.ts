import { ErrorCode, ProtocolError } from './errors';

/**
 * Binary wire format of a weight vector (an update delta or a global model):
 *   0  "QFW1" magic
 *   4  u8 format version (1)
 *   5  u8 dtype: 0 float32, 1 float16, 2 int8 with one per-vector scale, 3 u32 (masked
 *      fixed-point words of a secure round: decodeMaskedWords, never decodeWeights)
 *   6  u16 reserved (0)
 *   8  u32 element count
 *  12  f32 scale (int8 only; 1 otherwise)
 *  16  payload, little-endian
 */
export type WeightDtype = 'f32' | 'f16' | 'int8';
type WireDtype = WeightDtype | 'u32';

const MAGIC = [0x51, 0x46, 0x57, 0x31];
const HEADER_BYTES = 16;
const DTYPE_CODES: Record<WireDtype, number> = { f32: 0, f16: 1, int8: 2, u32: 3 };
const DTYPE_NAMES: WireDtype[] = ['f32', 'f16', 'int8', 'u32'];
const BYTES_PER: Record<WireDtype, number> = { f32: 4, f16: 2, int8: 1, u32: 4 };

export interface DecodedWeights {
	dtype: WeightDtype;
	values: Float32Array;
	/** False when values is a view over the input's own bytes (share: true, f32, 4-byte aligned). */
	copied: boolean;
}

export interface DecodeOptions {
	/**
	 * An f32 payload whose values start 4-byte aligned in their ArrayBuffer is returned as a
	 * Float32Array view over those same bytes, with no copy: the caller must then neither write
	 * to it nor let the input's bytes be reused while it holds the view. Unaligned input (any
	 * offset inside a socket frame or a pooled Buffer slab) is still copied.
	 */
	share?: boolean;
}

export function encodedWeightBytes(count: number, dtype: WireDtype = 'f32'): number {
	return HEADER_BYTES + count * BYTES_PER[dtype];
}

export function encodeWeights(values: Float32Array, dtype: WeightDtype = 'f32'): Uint8Array {
	const out = new Uint8Array(encodedWeightBytes(values.length, dtype));
	const view = new DataView(out.buffer);
	out.set(MAGIC, 0);
	view.setUint8(4, 1);
	view.setUint8(5, DTYPE_CODES[dtype]);
	view.setUint32(8, values.length, true);
	let scale = 1;
	if (dtype === 'f32') {
		new Uint8Array(out.buffer, HEADER_BYTES).set(
			new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
		);
	} else if (dtype === 'f16') {
		const half = new Uint16Array(out.buffer, HEADER_BYTES, values.length);
		for (let i = 0; i < values.length; i++) half[i] = float32ToFloat16(values[i]);
	} else {
		let maxAbs = 0;
		for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
		scale = maxAbs > 0 ? maxAbs / 127 : 1;
		const inv = 1 / scale;
		const q = new Int8Array(out.buffer, HEADER_BYTES, values.length);
		// floor(x+0.5) is several times faster than Math.round on this hot path (FACTS.md).
		for (let i = 0; i < values.length; i++) q[i] = Math.floor(values[i] * inv + 0.5);
	}
	view.setFloat32(12, scale, true);
	return out;
}

/** A secure round's masked words (uint32, modulo 2^32) in the weight format, dtype u32. */
export function encodeMaskedWords(words: Uint32Array): Uint8Array {
	const out = new Uint8Array(encodedWeightBytes(words.length, 'u32'));
	const view = new DataView(out.buffer);
	out.set(MAGIC, 0);
	view.setUint8(4, 1);
	view.setUint8(5, DTYPE_CODES.u32);
	view.setUint32(8, words.length, true);
	view.setFloat32(12, 1, true);
	for (let i = 0; i < words.length; i++) view.setUint32(HEADER_BYTES + 4 * i, words[i], true);
	return out;
}

function fail(why: string): never {
	throw new ProtocolError(ErrorCode.DecodeFailed, `weight payload: ${why}`);
}

/** Validates the header; returns the dtype, element count and scale. */
function readHeader(bytes: Uint8Array): { dtype: WireDtype; count: number; scale: number } {
	if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes is shorter than the header`);
	for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) fail('bad magic');
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (view.getUint8(4) !== 1) fail(`unsupported format version ${view.getUint8(4)}`);
	const dtype = DTYPE_NAMES[view.getUint8(5)];
	if (!dtype) fail(`unknown dtype code ${view.getUint8(5)}`);
	const count = view.getUint32(8, true);
	const expected = encodedWeightBytes(count, dtype);
	if (bytes.byteLength !== expected) fail(`length ${bytes.byteLength}, expected ${expected} for ${count} ${dtype}`);
	const scale = view.getFloat32(12, true);
	if (!Number.isFinite(scale) || scale <= 0) fail(`invalid scale ${scale}`);
	return { dtype, count, scale };
}

/** The words of a u32 payload (a copy); throws ProtocolError(DECODE_FAILED) on anything else. */
export function decodeMaskedWords(bytes: Uint8Array): Uint32Array {
	const { dtype, count } = readHeader(bytes);
	if (dtype !== 'u32') fail(`expected masked u32 words, got ${dtype}`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const words = new Uint32Array(count);
	for (let i = 0; i < count; i++) words[i] = view.getUint32(HEADER_BYTES + 4 * i, true);
	return words;
}

/** Decodes and validates; throws ProtocolError(DECODE_FAILED) on any malformed input. */
export function decodeWeights(bytes: Uint8Array, options: DecodeOptions = {}): DecodedWeights {
	const { dtype, count, scale } = readHeader(bytes);
	if (dtype === 'u32') fail('masked u32 words are not weights (a secure round\'s payload)');

	if (dtype === 'f32' && options.share && (bytes.byteOffset + HEADER_BYTES) % 4 === 0) {
		return { dtype, values: new Float32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, count), copied: false };
	}
	// Copy into a fresh, aligned buffer: the payload may sit at any offset inside a socket
	// frame, and Node's Buffer.slice returns a view of its pooled slab rather than a copy.
	const body = new Uint8Array(bytes.byteLength - HEADER_BYTES);
	body.set(bytes.subarray(HEADER_BYTES));
	let values: Float32Array;
	if (dtype === 'f32') {
		values = new Float32Array(body.buffer, 0, count);
	} else if (dtype === 'f16') {
		const half = new Uint16Array(body.buffer, 0, count);
		values = new Float32Array(count);
		const table = float16Table();
		for (let i = 0; i < count; i++) values[i] = table[half[i]];
	} else {
		const q = new Int8Array(body.buffer, 0, count);
		values = new Float32Array(count);
		for (let i = 0; i < count; i++) values[i] = q[i] * scale;
	}
	return { dtype, values, copied: true };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 with round-to-nearest-even; overflow goes to infinity, NaN stays NaN. */
export function float32ToFloat16(value: number): number {
	f32Scratch[0] = value;
	const x = u32Scratch[0];
	const sign = (x >>> 16) & 0x8000;
	const exp = (x >>> 23) & 0xff;
	let mant = x & 0x7fffff;
	if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
	let e = exp - 127 + 15;
	if (e >= 0x1f) return sign | 0x7c00;
	if (e <= 0) {
		if (e < -10) return sign;
		mant |= 0x800000;
		const shift = 14 - e;
		const half = 1 << (shift - 1);
		const rest = mant & ((1 << shift) - 1);
		let h = mant >>> shift;
		if (rest > half || (rest === half && h & 1)) h++;
		return sign | h;
	}
	const rest = mant & 0x1fff;
	let h = (e << 10) | (mant >>> 13);
	if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
	return sign | h;
}

export function float16ToFloat32(h: number): number {
	const sign = h & 0x8000 ? -1 : 1;
	const exp = (h >>> 10) & 0x1f;
	const mant = h & 0x3ff;
	if (exp === 0) return sign * mant * 2 ** -24;
	if (exp === 0x1f) return mant ? NaN : sign * Infinity;
	return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | null = null;
function float16Table(): Float32Array {
	if (!table) {
		table = new Float32Array(65536);
		for (let i = 0; i < 65536; i++) table[i] = float16ToFloat32(i);
	}
	return table;
}
