import { describe, expect, it } from 'vitest';
import { createNeighbourGraph, suggestedDegree, suggestedThreshold } from './neighbour-graph';

const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(2);

function edges(n: number, k: number, seed: Uint8Array): string[] {
	const g = createNeighbourGraph(n, k, seed);
	const out: string[] = [];
	for (let i = 0; i < n; i++) for (const j of g.neighbours(i)) if (i < j) out.push(`${i}-${j}`);
	return out;
}

describe('createNeighbourGraph', () => {
	it('is k-regular, symmetric and loop-free', () => {
		for (const [n, k] of [
			[10, 4],
			[10, 6],
			[11, 10],
			[101, 14],
			[3, 2]
		]) {
			const g = createNeighbourGraph(n, k, seedA);
			for (let i = 0; i < n; i++) {
				const ns = g.neighbours(i);
				expect(ns).toHaveLength(k);
				expect(new Set(ns).size).toBe(k);
				expect(ns).not.toContain(i);
				for (const j of ns) {
					expect(g.neighbours(j)).toContain(i);
					expect(g.areNeighbours(i, j)).toBe(true);
				}
			}
			expect(edges(n, k, seedA)).toHaveLength((n * k) / 2);
		}
	});

	it('is a Harary ring over a permutation: the neighbourhoods are ring windows', () => {
		// Walk the ring from 0: in H(2, n) the graph is a single cycle through everyone.
		const n = 12;
		const g = createNeighbourGraph(n, 2, seedA);
		const visited = [0];
		let prev = -1;
		let at = 0;
		for (;;) {
			const next = g.neighbours(at).find((j) => j !== prev)!;
			if (next === 0) break;
			visited.push(next);
			[prev, at] = [at, next];
		}
		expect(new Set(visited).size).toBe(n);
	});

	it('is deterministic for a seed and differs for another', () => {
		expect(edges(10, 4, seedA)).toEqual(edges(10, 4, new Uint8Array(32).fill(1)));
		expect(edges(10, 4, seedB)).not.toEqual(edges(10, 4, seedA));
		// Pinned so that a change of the expansion (which every participant must agree on) is noticed.
		expect(createNeighbourGraph(10, 4, seedA).neighbours(0)).toEqual([2, 5, 6, 7]);
	});

	it('rejects odd, too small or too large degrees and bad seeds', () => {
		expect(() => createNeighbourGraph(10, 3, seedA)).toThrow(/even/);
		expect(() => createNeighbourGraph(10, 10, seedA)).toThrow(/below n/);
		expect(() => createNeighbourGraph(10, 0, seedA)).toThrow(/at least 2/);
		expect(() => createNeighbourGraph(2, 2, seedA)).toThrow(/3 participants/);
		expect(() => createNeighbourGraph(10, 4, new Uint8Array(16))).toThrow(/32 bytes/);
		expect(() => createNeighbourGraph(10, 4, seedA).neighbours(10)).toThrow(/out of range/);
	});
});

describe('suggestedDegree / suggestedThreshold', () => {
	it('grows like 2⌈log2 n⌉, capped by the largest even degree below n', () => {
		expect([3, 4, 5, 8, 9, 10, 16, 17, 100, 1000, 10_000].map(suggestedDegree)).toEqual([2, 2, 4, 6, 8, 8, 8, 10, 14, 20, 28]);
		expect(() => suggestedDegree(2)).toThrow();
	});

	it('asks a strict majority of neighbours', () => {
		expect([2, 4, 6, 8, 14].map(suggestedThreshold)).toEqual([2, 3, 4, 5, 8]);
	});
});
