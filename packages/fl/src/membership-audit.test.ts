import { describe, expect, it } from 'vitest';
import { lossThresholdAttack } from './membership-audit';
import { createRng } from './random';

/** The definition, O(m n): P(member loss < non-member loss) + P(equal) / 2. */
function bruteAuc(members: number[], nonMembers: number[]): number {
	let pairs = 0;
	for (const a of members) for (const b of nonMembers) pairs += a < b ? 1 : a === b ? 0.5 : 0;
	return pairs / (members.length * nonMembers.length);
}

describe('lossThresholdAttack', () => {
	it('is 1 with full advantage when every member has a lower loss than every non-member', () => {
		const result = lossThresholdAttack([0.1, 0.2, 0.3], [0.5, 0.9]);
		expect(result).toEqual({ auc: 1, advantage: 1, threshold: 0.3 });
	});

	it('is 0 with no advantage when members have the higher losses', () => {
		expect(lossThresholdAttack([2, 3], [0.5, 1])).toEqual({ auc: 0, advantage: 0, threshold: -Infinity });
	});

	it('is 0.5 with no advantage when every loss is equal', () => {
		expect(lossThresholdAttack([1, 1, 1], [1, 1])).toEqual({ auc: 0.5, advantage: 0, threshold: -Infinity });
	});

	it('counts each pair, ties half', () => {
		// Members 1, 2, 4; non-members 2, 3. Pairs member < non-member: (1,2) (1,3) (2,3) = 3;
		// tie (2,2) = 0.5; (4,*) = 0. AUC 3.5 / 6.
		const result = lossThresholdAttack([1, 2, 4], [2, 3]);
		expect(result.auc).toBe(3.5 / 6);
		// Thresholds: <=1 TPR 1/3 FPR 0; <=2 TPR 2/3 FPR 1/2; <=3 TPR 2/3 FPR 1; <=4 1, 1.
		expect(result.advantage).toBe(1 / 3);
		expect(result.threshold).toBe(1);
	});

	it('takes the best threshold among tied groups', () => {
		// Members 0, 0, 0, 5; non-members 0, 5, 5, 5: at <= 0 TPR 3/4, FPR 1/4.
		const result = lossThresholdAttack([0, 0, 0, 5], [0, 5, 5, 5]);
		expect(result.advantage).toBe(0.5);
		expect(result.threshold).toBe(0);
		// (0,0) ties: 3 members x 1 = 3 halves; (0,5): 3 x 3 = 9; (5,5): 1 x 3 = 3 halves. (9 + 3) / 16.
		expect(result.auc).toBe(12 / 16);
	});

	it('agrees with the pairwise definition on random lists with many ties', () => {
		const rng = createRng(7);
		for (let trial = 0; trial < 20; trial++) {
			const members = Array.from({ length: 1 + rng.int(30) }, () => rng.int(8) / 2);
			const nonMembers = Array.from({ length: 1 + rng.int(30) }, () => rng.int(10) / 2);
			expect(lossThresholdAttack(members, nonMembers).auc).toBeCloseTo(bruteAuc(members, nonMembers), 12);
		}
	});

	it('accepts typed arrays and infinite losses, refuses NaN and empty lists', () => {
		expect(lossThresholdAttack(Float64Array.from([0.5]), Float32Array.from([Infinity])).auc).toBe(1);
		expect(() => lossThresholdAttack([NaN], [1])).toThrow(/member loss 0 is NaN/);
		expect(() => lossThresholdAttack([], [1])).toThrow(/needs members and non-members/);
		expect(() => lossThresholdAttack([1], [])).toThrow(/needs members and non-members/);
	});
});
