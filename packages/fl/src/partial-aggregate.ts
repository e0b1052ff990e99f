// Hierarchical aggregation: every server instance folds the updates its own sockets receive,
// then hands its running sums to the round's leader, which merges them and calls finish().
// The sums are linear in the updates, so merging gives the single-instance result.
import type { StrategyName } from './strategy';

/** An accumulator's running sums; every scalar is a non-negative total. */
export interface RunningSums {
	/** Updates folded into the sums. */
	count: number;
	/** Float64 vectors of the model's length. */
	sums: Float64Array[];
	scalars: number[];
}

/**
 * One instance's share of a round, per strategy:
 * - fedavg and the server optimisers (fedavgm, fedadagrad, fedadam, fedyogi):
 *   sums [sum n_k delta_k], scalars [sum n_k];
 * - fednova: sums [sum n_k delta_k / tau_k], scalars [sum n_k, sum n_k tau_k];
 * - perffedavg: sums [sum n_k delta_k, sum acc_k delta_k], scalars [sum n_k, sum acc_k];
 * - dp-fedavg: sums [sum clip(delta_k)], scalars [C, the clip norm used], so the leader can
 *   refuse sums clipped to another bound (the noise, added by the leader, assumes its own C).
 * Strategies that keep every update (median, trimmed-mean, krum, multi-krum) have none.
 */
export interface PartialAggregate extends RunningSums {
	strategy: StrategyName;
}

export interface SumsLayout {
	sums: number;
	scalars: number;
}

const FEDAVG_LAYOUT: SumsLayout = { sums: 1, scalars: 1 };

/** How many sums and scalars each strategy's partial aggregate holds; null: it keeps updates. */
export const PARTIAL_AGGREGATE_LAYOUTS: Readonly<Record<StrategyName, SumsLayout | null>> = {
	fedavg: FEDAVG_LAYOUT,
	fedavgm: FEDAVG_LAYOUT,
	fedadagrad: FEDAVG_LAYOUT,
	fedadam: FEDAVG_LAYOUT,
	fedyogi: FEDAVG_LAYOUT,
	fednova: { sums: 1, scalars: 2 },
	perffedavg: { sums: 2, scalars: 2 },
	'dp-fedavg': { sums: 1, scalars: 1 },
	median: null,
	'trimmed-mean': null,
	krum: null,
	'multi-krum': null
};

/** Throws unless the sums have the layout and vector length given and every value is finite. */
export function checkRunningSums(label: string, p: RunningSums, layout: SumsLayout, length: number): void {
	if (!(Number.isInteger(p.count) && p.count >= 0)) throw new Error(`${label}: count must be a non-negative integer, got ${p.count}`);
	if (p.sums.length !== layout.sums) throw new Error(`${label}: expected ${layout.sums} sum vectors, got ${p.sums.length}`);
	if (p.scalars.length !== layout.scalars) throw new Error(`${label}: expected ${layout.scalars} scalars, got ${p.scalars.length}`);
	for (const x of p.scalars) {
		if (!(Number.isFinite(x) && x >= 0)) throw new Error(`${label}: scalars must be finite and non-negative, got ${x}`);
	}
	for (const sum of p.sums) {
		if (sum.length !== length) throw new Error(`${label}: sum vector has ${sum.length} values, expected ${length}`);
		for (let i = 0; i < sum.length; i++) {
			if (!Number.isFinite(sum[i])) throw new Error(`${label}: sum vector holds a non-finite value at index ${i}`);
		}
	}
}

function layoutOf(strategy: StrategyName): SumsLayout {
	const layout: SumsLayout | null | undefined = PARTIAL_AGGREGATE_LAYOUTS[strategy];
	if (layout === undefined) throw new Error(`partial aggregate: unknown strategy ${JSON.stringify(strategy)}`);
	if (layout === null) throw new Error(`partial aggregate: ${strategy} keeps every update and has no partial aggregate`);
	return layout;
}

// Format, little-endian:
//   u8 version | u8 name length L | L bytes ASCII name | u32 count | u32 vector length |
//   u8 sums | u8 scalars | zero padding to a multiple of 8 | scalars f64 | sums f64, one after another.
// The padding keeps the float64 data 8-aligned relative to the start of the message.
const FORMAT_VERSION = 1;
const MAX_NAME_LENGTH = 32;
const LITTLE_ENDIAN_PLATFORM = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const dataOffset = (nameLength: number): number => Math.ceil((2 + nameLength + 10) / 8) * 8;

function asciiBytes(name: string): Uint8Array {
	const out = new Uint8Array(name.length);
	for (let i = 0; i < name.length; i++) {
		const c = name.charCodeAt(i);
		if (c < 0x20 || c > 0x7e) throw new Error(`partial aggregate: strategy name must be printable ASCII, got ${JSON.stringify(name)}`);
		out[i] = c;
	}
	return out;
}

export function encodePartialAggregate(p: PartialAggregate): Uint8Array {
	const length = p.sums.length > 0 ? p.sums[0].length : 0;
	checkRunningSums('partial aggregate', p, layoutOf(p.strategy), length);
	if (p.count > 0xffffffff || length > 0xffffffff) throw new Error('partial aggregate: count or vector length exceeds 2^32 - 1');
	const name = asciiBytes(p.strategy);
	const start = dataOffset(name.length);
	const bytes = new Uint8Array(start + 8 * (p.scalars.length + p.sums.length * length));
	const view = new DataView(bytes.buffer);
	view.setUint8(0, FORMAT_VERSION);
	view.setUint8(1, name.length);
	bytes.set(name, 2);
	let at = 2 + name.length;
	view.setUint32(at, p.count, true);
	view.setUint32(at + 4, length, true);
	view.setUint8(at + 8, p.sums.length);
	view.setUint8(at + 9, p.scalars.length);
	at = start;
	for (const x of p.scalars) {
		view.setFloat64(at, x, true);
		at += 8;
	}
	for (const sum of p.sums) {
		if (LITTLE_ENDIAN_PLATFORM) new Float64Array(bytes.buffer, at, length).set(sum);
		else for (let i = 0; i < length; i++) view.setFloat64(at + 8 * i, sum[i], true);
		at += 8 * length;
	}
	return bytes;
}

/** Parses bytes from another process; throws unless they are exactly the expected aggregate. */
export function decodePartialAggregate(bytes: Uint8Array, expected: { strategy: StrategyName; length: number }): PartialAggregate {
	const label = 'partial aggregate';
	if (!(Number.isInteger(expected.length) && expected.length >= 0)) {
		throw new Error(`${label}: expected length must be a non-negative integer, got ${expected.length}`);
	}
	const layout = layoutOf(expected.strategy);
	if (bytes.length < 2) throw new Error(`${label}: truncated (${bytes.length} bytes, header incomplete)`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const version = view.getUint8(0);
	if (version !== FORMAT_VERSION) throw new Error(`${label}: unsupported format version ${version}, expected ${FORMAT_VERSION}`);
	const nameLength = view.getUint8(1);
	if (nameLength > MAX_NAME_LENGTH) throw new Error(`${label}: strategy name of ${nameLength} bytes is too long`);
	const start = dataOffset(nameLength);
	if (bytes.length < start) throw new Error(`${label}: truncated (${bytes.length} bytes, header needs ${start})`);
	const name = String.fromCharCode(...bytes.subarray(2, 2 + nameLength));
	if (name !== expected.strategy) throw new Error(`${label}: is for strategy ${JSON.stringify(name)}, expected ${expected.strategy}`);
	let at = 2 + nameLength;
	const count = view.getUint32(at, true);
	const length = view.getUint32(at + 4, true);
	const sumCount = view.getUint8(at + 8);
	const scalarCount = view.getUint8(at + 9);
	for (let i = at + 10; i < start; i++) {
		if (bytes[i] !== 0) throw new Error(`${label}: header padding is not zero`);
	}
	if (length !== expected.length) throw new Error(`${label}: vectors have ${length} values, expected ${expected.length}`);
	if (sumCount !== layout.sums || scalarCount !== layout.scalars) {
		throw new Error(`${label}: ${expected.strategy} needs ${layout.sums} sums and ${layout.scalars} scalars, got ${sumCount} and ${scalarCount}`);
	}
	const total = start + 8 * (scalarCount + sumCount * length);
	if (bytes.length < total) throw new Error(`${label}: truncated (${bytes.length} bytes, expected ${total})`);
	if (bytes.length > total) throw new Error(`${label}: ${bytes.length - total} unexpected trailing bytes (expected ${total})`);

	const scalars: number[] = [];
	for (at = start; at < start + 8 * scalarCount; at += 8) scalars.push(view.getFloat64(at, true));
	const sums: Float64Array[] = [];
	for (let s = 0; s < sumCount; s++, at += 8 * length) {
		if (!LITTLE_ENDIAN_PLATFORM) {
			const sum = new Float64Array(length);
			for (let i = 0; i < length; i++) sum[i] = view.getFloat64(at + 8 * i, true);
			sums.push(sum);
		} else if ((bytes.byteOffset + at) % 8 === 0) {
			// Copied so the result does not alias the caller's buffer.
			sums.push(new Float64Array(bytes.buffer, bytes.byteOffset + at, length).slice());
		} else {
			// A Float64Array view needs an 8-aligned offset; copy the bytes to a fresh buffer. Not
			// bytes.slice(): on a Node Buffer (what Socket.IO hands over) that is a view, not a copy.
			const copy = new Uint8Array(8 * length);
			copy.set(bytes.subarray(at, at + 8 * length));
			sums.push(new Float64Array(copy.buffer));
		}
	}
	const p: PartialAggregate = { strategy: expected.strategy, count, sums, scalars };
	checkRunningSums(label, p, layout, length);
	return p;
}
