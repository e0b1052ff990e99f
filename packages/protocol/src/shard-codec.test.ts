import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors';
import { decodeShard, encodeShard, type LabelledSet } from './shard-codec';

function sampleSet(): LabelledSet {
	return {
		count: 3,
		width: 2,
		height: 2,
		numClasses: 10,
		images: Uint8Array.from([0, 1, 2, 3, 10, 20, 30, 40, 252, 253, 254, 255]),
		labels: Uint8Array.from([9, 0, 4])
	};
}

describe('shard codec', () => {
	it('writes the documented little-endian layout', () => {
		const bytes = encodeShard(sampleSet());
		expect(Array.from(bytes.subarray(0, 16))).toEqual([
			0x51, 0x46, 0x53, 0x31, 3, 0, 0, 0, 2, 0, 2, 0, 1, 10, 0, 0
		]);
		expect(bytes.length).toBe(16 + 12 + 3);
		expect(Array.from(bytes.subarray(16 + 12))).toEqual([9, 0, 4]);
	});

	it('round-trips, also from a view into a larger buffer', () => {
		const set = sampleSet();
		expect(decodeShard(encodeShard(set))).toEqual(set);
		const encoded = encodeShard(set);
		const padded = new Uint8Array(encoded.length + 7);
		padded.set(encoded, 5);
		expect(decodeShard(padded.subarray(5, 5 + encoded.length))).toEqual(set);
		const empty: LabelledSet = { ...set, count: 0, images: new Uint8Array(0), labels: new Uint8Array(0) };
		expect(decodeShard(encodeShard(empty))).toEqual(empty);
	});

	it('rejects malformed bytes with DECODE_FAILED and a reason', () => {
		const good = encodeShard(sampleSet());
		const mutate = (at: number, value: number) => {
			const copy = good.slice();
			copy[at] = value;
			return copy;
		};
		const cases: Array<[Uint8Array, string]> = [
			[good.subarray(0, 10), 'shorter than the 16-byte header'],
			[mutate(0, 0x58), 'bad magic'],
			[mutate(12, 3), 'channels 3 unsupported'],
			[mutate(14, 1), 'reserved bytes must be 0'],
			[mutate(8, 0), 'image size 0x2 is empty'],
			[mutate(13, 0), 'numClasses must be at least 1'],
			[good.subarray(0, good.length - 1), 'header implies 31'],
			[mutate(4, 4), 'header implies 36'],
			[mutate(good.length - 1, 10), 'label 10 at 2 is not below numClasses 10']
		];
		for (const [bytes, message] of cases) {
			let caught: unknown;
			try {
				decodeShard(bytes);
			} catch (error) {
				caught = error;
			}
			expect(caught).toBeInstanceOf(ProtocolError);
			expect((caught as ProtocolError).code).toBe('DECODE_FAILED');
			expect((caught as ProtocolError).message).toContain(message);
		}
	});

	it('refuses to encode an inconsistent set', () => {
		expect(() => encodeShard({ ...sampleSet(), labels: Uint8Array.from([1, 2]) })).toThrow(
			'cannot encode shard: labels hold 2 bytes, expected 3'
		);
		expect(() => encodeShard({ ...sampleSet(), numClasses: 5 })).toThrow('label 9 at 0 is not below numClasses 5');
		expect(() => encodeShard({ ...sampleSet(), width: 3 })).toThrow('images hold 12 bytes, expected 18');
	});
});
