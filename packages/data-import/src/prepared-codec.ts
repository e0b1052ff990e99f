import { FeatureStatsReport, TaskSchema, taskInputShape, taskObjective } from '@qflare/protocol';
import { crc32 } from './crc32';
import { DataImportError } from './errors';
import type { DataSummary, PreparedData, PreparedSplit } from './prepared-data';

/**
 * The Node participant's cache of prepared data, version 1:
 *   0  "QFDP"                 magic
 *   4  u32 version (1)
 *   8  u32 header length in bytes
 *  12  u32 CRC-32 of every byte from 16 to the end
 *  16  header: UTF-8 JSON (task, stats, label histogram, summary, and where each array lies),
 *      padded with spaces to a multiple of 8
 *  ... the arrays, each starting at a multiple of 8 so they can be viewed in place.
 * Numbers are stored in the machine's byte order (little-endian everywhere we run); the cache
 * never leaves the device. It holds numbers and schema names only: the summary's preview rows
 * (raw text) are dropped.
 */
const MAGIC = [0x51, 0x46, 0x44, 0x50];
const VERSION = 1;
const PREFIX = 16;

type ArrayKind = 'u8' | 'f32';
interface ArrayPlace {
	type: ArrayKind;
	offset: number;
	length: number;
}
interface SplitPlace {
	count: number;
	inputs: ArrayPlace;
	targets: ArrayPlace;
}
interface Header {
	task: unknown;
	stats: unknown;
	labelHistogram: number[] | null;
	summary: DataSummary;
	train: SplitPlace;
	holdOut: SplitPlace | null;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function kindOf(array: Uint8Array | Float32Array): ArrayKind {
	return array instanceof Uint8Array ? 'u8' : 'f32';
}

export function encodePrepared(data: PreparedData): Uint8Array {
	const arrays: (Uint8Array | Float32Array)[] = [];
	const place = (array: Uint8Array | Float32Array): ArrayPlace => {
		arrays.push(array);
		return { type: kindOf(array), offset: 0, length: array.length };
	};
	const splitPlace = (split: PreparedSplit): SplitPlace => ({ count: split.count, inputs: place(split.inputs), targets: place(split.targets) });
	const header: Header = {
		task: data.task,
		stats: data.stats,
		labelHistogram: data.labelHistogram,
		summary: { ...data.summary, preview: [] },
		train: splitPlace(data.train),
		holdOut: data.holdOut ? splitPlace(data.holdOut) : null
	};
	const places = [header.train.inputs, header.train.targets, ...(header.holdOut ? [header.holdOut.inputs, header.holdOut.targets] : [])];

	// The header holds the offsets, so its length depends on them: lay the arrays out after the
	// header written with zero offsets plus room for every offset's digits.
	const encoder = new TextEncoder();
	let offset = align8(PREFIX + encoder.encode(JSON.stringify(header)).length + places.length * 16);
	places.forEach((p, i) => {
		p.offset = offset;
		offset = align8(offset + arrays[i].byteLength);
	});
	const headerBytes = encoder.encode(JSON.stringify(header));
	const dataStart = places[0].offset;
	const last = places[places.length - 1];
	const total = last.offset + arrays[arrays.length - 1].byteLength;
	const bytes = new Uint8Array(total);
	bytes.set(MAGIC, 0);
	const view = new DataView(bytes.buffer);
	view.setUint32(4, VERSION, true);
	view.setUint32(8, dataStart - PREFIX, true);
	bytes.fill(0x20, PREFIX, dataStart);
	bytes.set(headerBytes, PREFIX);
	places.forEach((p, i) => bytes.set(new Uint8Array(arrays[i].buffer, arrays[i].byteOffset, arrays[i].byteLength), p.offset));
	view.setUint32(12, crc32(bytes.subarray(PREFIX)), true);
	return bytes;
}

function corrupt(why: string): DataImportError {
	return new DataImportError([`the prepared data cache is damaged or from another version (${why}): import the data again`]);
}

function readArray(bytes: Uint8Array, place: ArrayPlace, what: string): Uint8Array | Float32Array {
	const width = place.type === 'f32' ? 4 : 1;
	if ((place.type !== 'u8' && place.type !== 'f32') || !Number.isInteger(place.offset) || !Number.isInteger(place.length) || place.offset < PREFIX || place.length < 0) {
		throw corrupt(`bad ${what} entry`);
	}
	const end = place.offset + place.length * width;
	if (end > bytes.length) throw corrupt(`${what} runs past the end`);
	const start = bytes.byteOffset + place.offset;
	if (place.type === 'u8') return bytes.slice(place.offset, end);
	// A view when aligned; Node's pooled buffers may not be, then a copy.
	return start % 4 === 0 ? new Float32Array(bytes.buffer, start, place.length) : new Float32Array(bytes.slice(place.offset, end).buffer);
}

function checkedHistogram(histogram: unknown, classes: number): number[] | null {
	if (histogram === null && classes === 0) return null;
	if (!Array.isArray(histogram) || histogram.length !== classes || !histogram.every((n) => Number.isInteger(n) && n >= 0)) {
		throw corrupt('invalid label histogram');
	}
	return histogram as number[];
}

/** Reads a cache written by encodePrepared; float arrays may be views of `bytes`. Damage or another version is a DataImportError. */
export function decodePrepared(bytes: Uint8Array): PreparedData {
	if (bytes.length < PREFIX || MAGIC.some((b, i) => bytes[i] !== b)) throw corrupt('not a prepared data file');
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const version = view.getUint32(4, true);
	if (version !== VERSION) throw corrupt(`version ${version}, expected ${VERSION}`);
	const headerLength = view.getUint32(8, true);
	if (PREFIX + headerLength > bytes.length) throw corrupt('the header runs past the end');
	if (crc32(bytes.subarray(PREFIX)) !== view.getUint32(12, true)) throw corrupt('checksum mismatch');

	let header: Header;
	try {
		header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headerLength))) as Header;
	} catch {
		throw corrupt('unreadable header');
	}
	if (typeof header !== 'object' || header === null || typeof header.train !== 'object' || typeof header.summary !== 'object') throw corrupt('incomplete header');
	const task = TaskSchema.safeParse(header.task);
	if (!task.success) throw corrupt('invalid task');
	const stats = FeatureStatsReport.safeParse(header.stats);
	if (!stats.success) throw corrupt('invalid statistics');

	const sampleSize = taskInputShape(task.data).reduce((a, b) => a * b, 1);
	const objective = taskObjective(task.data);
	const inputKind: ArrayKind = task.data.kind === 'image-classification' ? 'u8' : 'f32';
	const targetKind: ArrayKind = objective.type === 'classification' ? 'u8' : 'f32';
	const targetWidth = objective.type === 'classification' ? 1 : objective.outputs;
	const readSplit = (place: SplitPlace, name: string): PreparedSplit => {
		if (typeof place !== 'object' || place === null || typeof place.inputs !== 'object' || typeof place.targets !== 'object' || place.inputs === null || place.targets === null) {
			throw corrupt(`incomplete ${name} entry`);
		}
		if (!Number.isInteger(place.count) || place.count < 0) throw corrupt(`bad ${name} count`);
		const inputs = readArray(bytes, place.inputs, `${name} inputs`);
		const targets = readArray(bytes, place.targets, `${name} targets`);
		if (place.inputs.type !== inputKind || inputs.length !== place.count * sampleSize) throw corrupt(`${name} inputs do not match the task`);
		if (place.targets.type !== targetKind || targets.length !== place.count * targetWidth) throw corrupt(`${name} targets do not match the task`);
		if (objective.type === 'classification' && targets.some((t) => t >= objective.classes.length)) throw corrupt(`${name} has a class index out of range`);
		return { count: place.count, inputs, targets };
	};
	return {
		task: task.data,
		train: readSplit(header.train, 'train'),
		holdOut: header.holdOut ? readSplit(header.holdOut, 'hold-out') : null,
		stats: stats.data,
		labelHistogram: checkedHistogram(header.labelHistogram, objective.type === 'classification' ? objective.classes.length : 0),
		summary: header.summary
	};
}
