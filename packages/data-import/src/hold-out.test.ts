import { describe, expect, it } from 'vitest';
import { holdOutCount, splitIndices } from './hold-out';

describe('holdOutCount', () => {
	it('rounds, keeps at least 1 and leaves at least 1 for training', () => {
		expect(holdOutCount(100, 0.15)).toBe(15);
		expect(holdOutCount(10, 0.15)).toBe(2);
		expect(holdOutCount(3, 0.15)).toBe(1);
		expect(holdOutCount(2, 0.15)).toBe(1);
		expect(holdOutCount(2, 0.9)).toBe(1);
		expect(holdOutCount(1, 0.5)).toBe(0);
		expect(holdOutCount(100, 0)).toBe(0);
	});
});

describe('splitIndices', () => {
	it('is the same for the same seed and count, and a partition of the rows', () => {
		const a = splitIndices(100, { holdOutFraction: 0.15, seed: 42 });
		const b = splitIndices(100, { holdOutFraction: 0.15, seed: 42 });
		expect(a).toEqual(b);
		expect(a.holdOut).toHaveLength(15);
		expect(a.train).toHaveLength(85);
		expect([...a.train, ...a.holdOut].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
		expect(Array.from(a.train)).toEqual([...a.train].sort((x, y) => x - y));
		const c = splitIndices(100, { holdOutFraction: 0.15, seed: 43 });
		expect(Array.from(c.holdOut)).not.toEqual(Array.from(a.holdOut));
	});

	it('draws a fixed hold-out for a given seed (mulberry32 Fisher-Yates)', () => {
		// Pinned so a change of the generator, which would reshuffle every participant's hold-out, shows.
		expect(Array.from(splitIndices(10, { holdOutFraction: 0.3, seed: 1 }).holdOut)).toEqual(PINNED_SEED_1);
	});

	it('holds out nothing for fraction 0 and rejects a fraction outside [0, 1)', () => {
		expect(splitIndices(5, { holdOutFraction: 0, seed: 1 }).holdOut).toHaveLength(0);
		expect(() => splitIndices(5, { holdOutFraction: 1, seed: 1 })).toThrow(/holdOutFraction must be in \[0, 1\)/);
		expect(() => splitIndices(5, { holdOutFraction: -0.1, seed: 1 })).toThrow(RangeError);
	});
});

const PINNED_SEED_1 = [3, 7, 8];
