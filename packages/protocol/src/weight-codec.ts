import { ErrorCode, ProtocolError } from './errors';

/**
 * Binary wire format of a weight vector (an update delta or a global model):
 *   0  "QFW1" magic
 *   4  u8 format version (1)
 *   5  u8 dtype: 0 float32, 1 float16, 2 int8 with one scale per tensor, 3 u32 (masked
 *      fixed-point words of a secure round: decodeMaskedWords, never decodeWeights),
 *      4 top-k (sparse: the dense vector is zero outside the listed indices)
 *   6  u16 reserved (0)
 *   8  u32 element count (of the dense vector)
 *  12  f32 scale (1; int8 keeps its scales per tensor in the body)
 *  16  body, little-endian:
 *      f32, f16, u32: count values
 *      int8:  u32 S segments, S u32 lengths (summing to count), S f32 scales, count int8 values
 *      top-k: u32 k, k u32 indices (strictly ascending, < count), k f32 values
 */
export type WeightDtype = 'f32' | 'f16' | 'int8' | 'top-k';
type WireDtype = WeightDtype | 'u32';
/** Dtypes whose body is one fixed-width value per element. */
type DenseDtype = 'f32' | 'f16' | 'u32';

const MAGIC = [0x51, 0x46, 0x57, 0x31];
const HEADER_BYTES = 16;
const DTYPE_CODES: Record<WireDtype, number> = { f32: 0, f16: 1, int8: 2, u32: 3, 'top-k': 4 };
const DTYPE_NAMES: WireDtype[] = ['f32', 'f16', 'int8', 'u32', 'top-k'];
const BYTES_PER: Record<DenseDtype, number> = { f32: 4, f16: 2, u32: 4 };

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

/** Uniform numbers in [0, 1), one per call: the int8 encoder's source of stochastic rounding. */
export type UniformSource = () => number;

export interface Int8Options {
	/** Tensor sizes in order, summing to the vector's length; one scale each. Default: one segment. */
	segments?: readonly number[];
	/** Default: cryptoUniform(). Inject a seeded one for reproducible tests and benches. */
	random?: UniformSource;
}

/** Size of an f32, f16 or u32 payload of `count` values (int8 and top-k: int8WeightBytes, topKWeightBytes). */
export function encodedWeightBytes(count: number, dtype: DenseDtype = 'f32'): number {
	return HEADER_BYTES + count * BYTES_PER[dtype];
}

export function int8WeightBytes(count: number, segmentCount: number): number {
	return HEADER_BYTES + 4 + 8 * segmentCount + count;
}

export function topKWeightBytes(k: number): number {
	return HEADER_BYTES + 4 + 8 * k;
}

/**
 * How many coordinates a top-k update of `count` values keeps: ceil(fraction * count), at least
 * one of a non-empty vector. A product that is an integer up to float noise (0.1 * 199210 =
 * 19921.000000000004) counts as that integer, so devices and the server agree on the bound.
 */
export function topKCount(fraction: number, count: number): number {
	if (count === 0) return 0;
	const exact = fraction * count;
	const nearest = Math.round(exact);
	const k = Math.abs(exact - nearest) <= 1e-9 * Math.max(1, exact) ? nearest : Math.ceil(exact);
	return Math.min(count, Math.max(1, k));
}

function writeHeader(out: Uint8Array, dtype: WireDtype, count: number): DataView {
	const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
	out.set(MAGIC, 0);
	view.setUint8(4, 1);
	view.setUint8(5, DTYPE_CODES[dtype]);
	view.setUint32(8, count, true);
	view.setFloat32(12, 1, true);
	return view;
}

/**
 * f32 (bit-exact) or f16 (round to nearest even); int8 with one scale per segment,
 * scale = maxAbs / 127, and stochastic rounding q = floor(x / scale + u), u uniform in [0, 1),
 * so that E[q * scale] = x. Top-k: encodeTopK.
 */
export function encodeWeights(values: Float32Array, dtype: Exclude<WeightDtype, 'top-k'> = 'f32', options: Int8Options = {}): Uint8Array {
	if (dtype === 'int8') return encodeInt8(values, options.segments ?? [values.length], options.random ?? cryptoUniform());
	const out = new Uint8Array(encodedWeightBytes(values.length, dtype));
	writeHeader(out, dtype, values.length);
	if (dtype === 'f32') {
		out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), HEADER_BYTES);
	} else {
		const half = new Uint16Array(out.buffer, HEADER_BYTES, values.length);
		for (let i = 0; i < values.length; i++) half[i] = float32ToFloat16(values[i]);
	}
	return out;
}

function encodeInt8(values: Float32Array, segments: readonly number[], random: UniformSource): Uint8Array {
	let total = 0;
	for (const length of segments) {
		if (!Number.isInteger(length) || length < 1) throw new RangeError(`int8 segment length ${length} is not a positive integer`);
		total += length;
	}
	if (total !== values.length) throw new RangeError(`int8 segments sum to ${total}, the vector has ${values.length} values`);
	const out = new Uint8Array(int8WeightBytes(values.length, segments.length));
	const view = writeHeader(out, 'int8', values.length);
	view.setUint32(HEADER_BYTES, segments.length, true);
	const lengthsAt = HEADER_BYTES + 4;
	const scalesAt = lengthsAt + 4 * segments.length;
	const q = new Int8Array(out.buffer, scalesAt + 4 * segments.length, values.length);
	let start = 0;
	segments.forEach((length, s) => {
		const end = start + length;
		let maxAbs = 0;
		for (let i = start; i < end; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
		if (!Number.isFinite(maxAbs)) throw new RangeError(`int8 segment ${s} holds a non-finite value`);
		// An all-zero segment encodes as zeros; scale 1 keeps every scale positive on the wire.
		const scale = maxAbs > 0 ? maxAbs / 127 : 1;
		// Rounded to f32 first: the decoder multiplies by the f32 on the wire, and unbiasedness needs the same scale.
		const wireScale = Math.fround(scale);
		for (let i = start; i < end; i++) {
			// The clamp catches x / scale landing a hair above 127 after rounding (floor would give 128, which wraps).
			const v = Math.floor(values[i] / wireScale + random());
			q[i] = v > 127 ? 127 : v < -127 ? -127 : v;
		}
		view.setUint32(lengthsAt + 4 * s, length, true);
		view.setFloat32(scalesAt + 4 * s, wireScale, true);
		start = end;
	});
	return out;
}

/**
 * A sparse payload of a `count`-long vector: `values[j]` at `indices[j]`, zero elsewhere.
 * Indices must be strictly ascending and below count (RangeError otherwise).
 */
export function encodeTopK(count: number, indices: Uint32Array, values: Float32Array): Uint8Array {
	const k = indices.length;
	if (values.length !== k) throw new RangeError(`top-k has ${k} indices but ${values.length} values`);
	if (k > count) throw new RangeError(`top-k keeps ${k} of ${count} values`);
	const out = new Uint8Array(topKWeightBytes(k));
	const view = writeHeader(out, 'top-k', count);
	view.setUint32(HEADER_BYTES, k, true);
	const valuesAt = HEADER_BYTES + 4 + 4 * k;
	for (let j = 0; j < k; j++) {
		const index = indices[j];
		if (index >= count || (j > 0 && index <= indices[j - 1])) throw new RangeError(`top-k index ${index} at ${j} is out of order or range`);
		view.setUint32(HEADER_BYTES + 4 + 4 * j, index, true);
		view.setFloat32(valuesAt + 4 * j, values[j], true);
	}
	return out;
}

/** A secure round's masked words (uint32, modulo 2^32) in the weight format, dtype u32. */
export function encodeMaskedWords(words: Uint32Array): Uint8Array {
	const out = new Uint8Array(encodedWeightBytes(words.length, 'u32'));
	const view = writeHeader(out, 'u32', words.length);
	for (let i = 0; i < words.length; i++) view.setUint32(HEADER_BYTES + 4 * i, words[i], true);
	return out;
}

/** Uniform [0, 1) from crypto.getRandomValues, drawn 4096 words at a time (the API caps one call at 64 KiB). */
export function cryptoUniform(): UniformSource {
	const words = new Uint32Array(4096);
	let next = words.length;
	return () => {
		if (next === words.length) {
			crypto.getRandomValues(words);
			next = 0;
		}
		return words[next++] / 2 ** 32;
	};
}

function fail(why: string): never {
	throw new ProtocolError(ErrorCode.DecodeFailed, `weight payload: ${why}`);
}

export interface WeightHeader {
	dtype: WireDtype;
	/** Length of the dense vector. */
	count: number;
	/** Top-k: the number of coordinates sent; null for other dtypes. */
	kept: number | null;
}

/**
 * Validates the header and the payload's total length for its dtype (reading the segment count
 * of int8 and k of top-k); the body's contents are checked by the decoders. Throws
 * ProtocolError(DECODE_FAILED). Cheap: lets the server refuse a wrong dtype or k before decoding.
 */
export function readWeightHeader(bytes: Uint8Array): WeightHeader {
	if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes is shorter than the header`);
	for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) fail('bad magic');
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (view.getUint8(4) !== 1) fail(`unsupported format version ${view.getUint8(4)}`);
	const dtype = DTYPE_NAMES[view.getUint8(5)];
	if (!dtype) fail(`unknown dtype code ${view.getUint8(5)}`);
	const count = view.getUint32(8, true);
	const scale = view.getFloat32(12, true);
	if (!Number.isFinite(scale) || scale <= 0) fail(`invalid scale ${scale}`);
	let kept: number | null = null;
	let expected: number;
	if (dtype === 'int8' || dtype === 'top-k') {
		if (bytes.byteLength < HEADER_BYTES + 4) fail(`${bytes.byteLength} bytes is too short for a ${dtype} payload`);
		const n = view.getUint32(HEADER_BYTES, true);
		if (dtype === 'int8') {
			// Every segment holds at least one value, which also bounds the table read below.
			if (n > count || (count > 0 && n === 0)) fail(`${n} int8 segments for ${count} values`);
			expected = int8WeightBytes(count, n);
		} else {
			if (n > count) fail(`top-k keeps ${n} of ${count} values`);
			kept = n;
			expected = topKWeightBytes(n);
		}
	} else {
		expected = encodedWeightBytes(count, dtype);
	}
	if (bytes.byteLength !== expected) fail(`length ${bytes.byteLength}, expected ${expected} for ${count} ${dtype}`);
	return { dtype, count, kept };
}

/** The words of a u32 payload (a copy); throws ProtocolError(DECODE_FAILED) on anything else. */
export function decodeMaskedWords(bytes: Uint8Array): Uint32Array {
	const { dtype, count } = readWeightHeader(bytes);
	if (dtype !== 'u32') fail(`expected masked u32 words, got ${dtype}`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const words = new Uint32Array(count);
	for (let i = 0; i < count; i++) words[i] = view.getUint32(HEADER_BYTES + 4 * i, true);
	return words;
}

/** Decodes and validates into a dense vector; throws ProtocolError(DECODE_FAILED) on any malformed input. */
export function decodeWeights(bytes: Uint8Array, options: DecodeOptions = {}): DecodedWeights {
	const { dtype, count } = readWeightHeader(bytes);
	if (dtype === 'u32') fail('masked u32 words are not weights (a secure round\'s payload)');
	if (dtype === 'int8') return { dtype, values: decodeInt8(bytes, count), copied: true };
	if (dtype === 'top-k') return { dtype, values: decodeTopK(bytes, count), copied: true };

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
	} else {
		const half = new Uint16Array(body.buffer, 0, count);
		values = new Float32Array(count);
		const table = float16Table();
		for (let i = 0; i < count; i++) values[i] = table[half[i]];
	}
	return { dtype, values, copied: true };
}

function decodeInt8(bytes: Uint8Array, count: number): Float32Array {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const segments = view.getUint32(HEADER_BYTES, true);
	const lengthsAt = HEADER_BYTES + 4;
	const scalesAt = lengthsAt + 4 * segments;
	const valuesAt = scalesAt + 4 * segments;
	const q = new Int8Array(bytes.buffer, bytes.byteOffset + valuesAt, count);
	const values = new Float32Array(count);
	let start = 0;
	for (let s = 0; s < segments; s++) {
		const length = view.getUint32(lengthsAt + 4 * s, true);
		if (length === 0) fail(`int8 segment ${s} is empty`);
		if (length > count - start) fail(`int8 segment lengths exceed the ${count} values (segment ${s})`);
		const scale = view.getFloat32(scalesAt + 4 * s, true);
		if (!Number.isFinite(scale) || scale <= 0) fail(`int8 segment ${s} has invalid scale ${scale}`);
		const end = start + length;
		for (let i = start; i < end; i++) values[i] = q[i] * scale;
		start = end;
	}
	if (start !== count) fail(`int8 segment lengths sum to ${start}, expected ${count}`);
	return values;
}

function decodeTopK(bytes: Uint8Array, count: number): Float32Array {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const k = view.getUint32(HEADER_BYTES, true);
	const valuesAt = HEADER_BYTES + 4 + 4 * k;
	const values = new Float32Array(count);
	let previous = -1;
	for (let j = 0; j < k; j++) {
		const index = view.getUint32(HEADER_BYTES + 4 + 4 * j, true);
		if (index >= count) fail(`top-k index ${index} is out of range for ${count} values`);
		if (index <= previous) fail(`top-k indices are not strictly ascending (${index} after ${previous})`);
		const value = view.getFloat32(valuesAt + 4 * j, true);
		if (!Number.isFinite(value)) fail(`top-k value at index ${index} is not finite`);
		values[index] = value;
		previous = index;
	}
	return values;
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
