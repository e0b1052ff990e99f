import { describe, expect, it } from 'vitest';
import { contiguousSegments, planSplit, quantileBins, splitMethod } from './split-plan';

const sorted = (parts: number[][]) => parts.flat().sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('split plans', () => {
	it('cuts a time series into consecutive periods, earlier ones one longer', () => {
		expect(contiguousSegments(8, 3)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
		expect(contiguousSegments(2, 3)).toEqual([[0], [1], []]);
		expect(() => contiguousSegments(5, 0)).toThrow('participants must be a positive integer');
	});

	it('bins a target into equal-count bins by rank', () => {
		expect(quantileBins([50, 10, 40, 20, 30, 60], 3)).toEqual([2, 0, 1, 0, 1, 2]);
		// Ties keep their order of appearance.
		expect(quantileBins([1, 1, 1, 1], 2)).toEqual([0, 0, 1, 1]);
	});

	it('gives every row to exactly one participant, the same way for the same seed', () => {
		const labels = range(90).map((i) => i % 3);
		for (const plan of ['iid', { dirichletAlpha: 0.5 }] as const) {
			const a = planSplit({ kind: 'classification', labels, numClasses: 3 }, 4, plan, 7);
			expect(a).toHaveLength(4);
			expect(sorted(a)).toEqual(range(90));
			expect(planSplit({ kind: 'classification', labels, numClasses: 3 }, 4, plan, 7)).toEqual(a);
			expect(planSplit({ kind: 'classification', labels, numClasses: 3 }, 4, plan, 8)).not.toEqual(a);
		}
		expect(planSplit({ kind: 'classification', labels, numClasses: 3 }, 4, 'iid', 7).map((p) => p.length)).toEqual([23, 23, 22, 22]);
		const regression = planSplit({ kind: 'regression', targets: range(50).map((i) => i * 1.5) }, 3, { dirichletAlpha: 1 }, 2);
		expect(sorted(regression)).toEqual(range(50));
	});

	it('refuses a label-skewed split of a time series', () => {
		expect(planSplit({ kind: 'time-series', count: 7 }, 2, 'iid', 1)).toEqual([[0, 1, 2, 3], [4, 5, 6]]);
		expect(() => planSplit({ kind: 'time-series', count: 7 }, 2, { dirichletAlpha: 0.5 }, 1)).toThrow(
			'a time series is split into consecutive periods; partition dirichlet:0.5 needs labels, use iid'
		);
		expect(splitMethod('regression', { dirichletAlpha: 2 })).toBe(
			'label skew: Dirichlet(2) shares per 5 equal-count bins of the target (packages/fl dirichletPartition)'
		);
	});
});
