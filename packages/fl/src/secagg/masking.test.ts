import { describe, expect, it } from 'vitest';
import { maskStream } from './mask-stream';
import { addModular, maskUpdate, pairMaskSign, subtractModular, sumModular, unmaskSteps, unmaskSum } from './masking';

const seed = (tag: number): Uint8Array => new Uint8Array(32).fill(tag);

describe('modular helpers', () => {
	it('wrap modulo 2^32', () => {
		expect(Array.from(addModular(Uint32Array.from([0xffffffff, 5]), Uint32Array.from([2, 7])))).toEqual([1, 12]);
		expect(Array.from(subtractModular(Uint32Array.from([1, 12]), Uint32Array.from([2, 7])))).toEqual([0xffffffff, 5]);
		expect(Array.from(sumModular([Uint32Array.from([0x80000000]), Uint32Array.from([0x80000000]), Uint32Array.from([3])]))).toEqual([3]);
		expect(() => addModular(new Uint32Array(2), new Uint32Array(3))).toThrow(/length/);
	});

	it('sign pair masks antisymmetrically', () => {
		expect(pairMaskSign(1, 4)).toBe(1);
		expect(pairMaskSign(4, 1)).toBe(-1);
		expect(() => pairMaskSign(2, 2)).toThrow();
	});
});

describe('maskUpdate / unmaskSum', () => {
	// A triangle 0-1-2 with pair seeds 10 + i + j.
	const pairSeed = (i: number, j: number): Uint8Array => seed(10 + i + j);
	const x = [Uint32Array.from([1, 2, 3, 4]), Uint32Array.from([10, 20, 30, 40]), Uint32Array.from([100, 200, 300, 0xffffffff])];
	const masked = x.map((v, i) =>
		maskUpdate(v, {
			myIndex: i,
			selfSeed: seed(i + 1),
			pairSeeds: new Map([0, 1, 2].filter((j) => j !== i).map((j) => [j, pairSeed(i, j)]))
		})
	);

	it('adds the self mask and ± pair masks word by word', () => {
		// Participant 1: + self(2) − pair(0,1) + pair(1,2).
		const self = maskStream(seed(2), 4);
		const p01 = maskStream(pairSeed(0, 1), 4);
		const p12 = maskStream(pairSeed(1, 2), 4);
		for (let i = 0; i < 4; i++) expect(masked[1][i]).toBe((x[1][i] + self[i] - p01[i] + p12[i] + 2 * 2 ** 32) % 2 ** 32);
	});

	it('cancels pair masks when everyone uploads, leaving the exact sum once self masks are removed', () => {
		const sum = unmaskSum(sumModular(masked), { selfSeeds: [seed(1), seed(2), seed(3)], droppedPairs: [] });
		expect(Array.from(sum)).toEqual([111, 222, 333, 43]);
	});

	it('removes the uncancelled pair masks of a participant that dropped before uploading', () => {
		// 2 drops: 0 added +pair(0,2), 1 added +pair(1,2), nothing cancels them.
		const sum = unmaskSum(sumModular(masked.slice(0, 2)), {
			selfSeeds: [seed(1), seed(2)],
			droppedPairs: [
				{ dropped: 2, survivor: 0, seed: pairSeed(0, 2) },
				{ dropped: 2, survivor: 1, seed: pairSeed(1, 2) }
			]
		});
		expect(Array.from(sum)).toEqual([11, 22, 33, 44]);
		// The same with the dropped one below the survivor: 0 drops, 1 had subtracted pair(0,1).
		const sum12 = unmaskSum(sumModular(masked.slice(1)), {
			selfSeeds: [seed(2), seed(3)],
			droppedPairs: [
				{ dropped: 0, survivor: 1, seed: pairSeed(0, 1) },
				{ dropped: 0, survivor: 2, seed: pairSeed(0, 2) }
			]
		});
		expect(Array.from(sum12)).toEqual([110, 220, 330, 39]);
	});

	it('leaves garbage when a mask is not removed, and refuses a pair listed twice', () => {
		const partial = unmaskSum(sumModular(masked), { selfSeeds: [seed(1), seed(2)], droppedPairs: [] });
		expect(Array.from(partial)).not.toEqual([111, 222, 333, 43]);
		const pair = { dropped: 2, survivor: 0, seed: pairSeed(0, 2) };
		expect(() => unmaskSum(masked[0], { selfSeeds: [], droppedPairs: [pair, pair] })).toThrow(/twice/);
	});

	it('unmasks step by step, one pause per mask, to the same words', () => {
		const inputs = {
			selfSeeds: [seed(1), seed(2)],
			droppedPairs: [
				{ dropped: 2, survivor: 0, seed: pairSeed(0, 2) },
				{ dropped: 2, survivor: 1, seed: pairSeed(1, 2) }
			]
		};
		const steps = unmaskSteps(sumModular(masked.slice(0, 2)), inputs);
		let pauses = 0;
		let step = steps.next();
		while (!step.done) {
			pauses++;
			step = steps.next();
		}
		expect(pauses).toBe(4);
		expect(Array.from(step.value)).toEqual([11, 22, 33, 44]);
	});
});
