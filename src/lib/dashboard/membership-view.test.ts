import type { ModelRecord } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { formatMembershipRisk, membershipRiskDetail, membershipRiskLevel, membershipRiskNote } from './membership-view';

const audit = (auc: number) => ({ auc, advantage: 0.0425, members: 1000, nonMembers: 1000 });

describe('membership risk', () => {
	it('reads the attack AUC in coarse levels', () => {
		expect([0.3, 0.5, 0.55, 0.58, 0.6, 0.65, 0.7, 0.71, 1].map(membershipRiskLevel)).toEqual([
			'guessing',
			'guessing',
			'guessing',
			'low',
			'low',
			'moderate',
			'moderate',
			'high',
			'high'
		]);
	});

	it('formats the AUC of a version, its advantage and sample, and a dash without an audit', () => {
		expect(formatMembershipRisk(audit(0.5123))).toBe('AUC 0.512 (no better than guessing)');
		expect(formatMembershipRisk(audit(0.82))).toBe('AUC 0.820 (high)');
		expect(formatMembershipRisk(null)).toBe('–');
		expect(formatMembershipRisk(undefined)).toBe('–');
		expect(membershipRiskDetail(audit(0.6))).toBe('best threshold: TPR − FPR = 4.3%; 1,000 members vs 1,000 non-members');
		expect(membershipRiskDetail(null)).toBeUndefined();
	});

	it('explains the figure on demo data and why local data has none', () => {
		const model = { membershipAudit: audit(0.51) } as ModelRecord;
		expect(membershipRiskNote({ dataSource: 'demo' }, [model])).toMatch(/^Membership inference risk: AUC of a loss-threshold attack.*0\.5 = no better than guessing.*lower bound/);
		expect(membershipRiskNote({ dataSource: 'demo' }, [])).toMatch(/audited shortly after its round\.$/);
		expect(membershipRiskNote({ dataSource: 'local' }, [model])).toMatch(/not audited for local data: the server does not know which examples each device holds/);
	});
});
