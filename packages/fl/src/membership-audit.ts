// Loss-threshold membership inference (Yeom et al. 2018): the attacker guesses "member" when a
// model's loss on an example is at most a threshold. Its ROC AUC is the probability that a random
// member has a lower loss than a random non-member (ties count half), which is the Mann-Whitney U
// statistic divided by members x non-members; 0.5 means the attack does no better than a coin.

export interface LossThresholdAttack {
	/** ROC AUC of "loss <= t means member" over every threshold t; in [0, 1], 0.5 = guessing. */
	auc: number;
	/** max over thresholds of TPR - FPR (the attack's membership advantage); in [0, 1]. */
	advantage: number;
	/** A loss at which the advantage is reached (member when loss <= threshold); -Infinity when no threshold beats guessing. */
	threshold: number;
}

/**
 * The loss-threshold attack on per-example losses of members (examples the model was trained on)
 * and non-members (examples it never saw). O(n log n): one sort, one pass over groups of equal
 * losses. Throws on an empty list or a NaN loss; Infinity is an ordinary (largest) loss.
 */
export function lossThresholdAttack(memberLosses: ArrayLike<number>, nonMemberLosses: ArrayLike<number>): LossThresholdAttack {
	const m = memberLosses.length;
	const n = nonMemberLosses.length;
	if (m === 0 || n === 0) throw new Error(`the attack needs members and non-members (got ${m} and ${n})`);
	// Each entry: the loss and whether it is a member's.
	const entries: { loss: number; member: boolean }[] = [];
	for (let i = 0; i < m; i++) entries.push({ loss: checked(memberLosses[i], 'member', i), member: true });
	for (let i = 0; i < n; i++) entries.push({ loss: checked(nonMemberLosses[i], 'non-member', i), member: false });
	entries.sort((a, b) => (a.loss < b.loss ? -1 : a.loss > b.loss ? 1 : 0));

	// Walking up the losses: members and non-members at or below the current group.
	let membersBelow = 0;
	let nonMembersBelow = 0;
	// Pairs (member, non-member) where the member's loss is lower, ties counted half; doubled to stay integral.
	let doubledPairs = 0;
	let advantage = 0;
	let threshold = -Infinity;
	for (let start = 0; start < entries.length; ) {
		let end = start;
		let groupMembers = 0;
		while (end < entries.length && entries[end].loss === entries[start].loss) {
			if (entries[end].member) groupMembers++;
			end++;
		}
		const groupNonMembers = end - start - groupMembers;
		const nonMembersAbove = n - nonMembersBelow - groupNonMembers;
		doubledPairs += groupMembers * (2 * nonMembersAbove + groupNonMembers);
		membersBelow += groupMembers;
		nonMembersBelow += groupNonMembers;
		const gain = membersBelow / m - nonMembersBelow / n;
		if (gain > advantage) {
			advantage = gain;
			threshold = entries[start].loss;
		}
		start = end;
	}
	return { auc: doubledPairs / (2 * m * n), advantage, threshold };
}

function checked(loss: number, who: string, index: number): number {
	if (Number.isNaN(loss)) throw new Error(`${who} loss ${index} is NaN`);
	return loss;
}
