import type { MembershipAudit, ModelRecord, Project } from '@qflare/protocol';
import { percent } from '../display-format';

// The membership-inference audit of each model version as the dashboard shows it: how well a
// loss-threshold attack tells training examples of the participating devices from unseen ones.

export type MembershipRiskLevel = 'guessing' | 'low' | 'moderate' | 'high';

/** A coarse reading of the attack AUC: up to 0.55 is within sampling noise of a coin toss. */
export function membershipRiskLevel(auc: number): MembershipRiskLevel {
	if (auc <= 0.55) return 'guessing';
	if (auc <= 0.6) return 'low';
	if (auc <= 0.7) return 'moderate';
	return 'high';
}

const LEVEL_TEXT: Record<MembershipRiskLevel, string> = {
	guessing: 'no better than guessing',
	low: 'low',
	moderate: 'moderate',
	high: 'high'
};

/** "AUC 0.512 (no better than guessing)"; '–' without an audit. */
export function formatMembershipRisk(audit: MembershipAudit | null | undefined): string {
	if (!audit || !Number.isFinite(audit.auc)) return '–';
	return `AUC ${audit.auc.toFixed(3)} (${LEVEL_TEXT[membershipRiskLevel(audit.auc)]})`;
}

/** The cell's tooltip: the attack's best advantage and the sample sizes. */
export function membershipRiskDetail(audit: MembershipAudit | null | undefined): string | undefined {
	if (!audit) return undefined;
	return `best threshold: TPR − FPR = ${percent(audit.advantage)}; ${audit.members.toLocaleString('en-US')} members vs ${audit.nonMembers.toLocaleString('en-US')} non-members`;
}

/**
 * What the card says under the versions: what the figure means, or why there is none. Local
 * data: the server never learns which device held which rows, so it cannot audit.
 */
export function membershipRiskNote(project: Pick<Project, 'dataSource'>, models: readonly ModelRecord[]): string {
	if (project.dataSource !== 'demo') {
		return 'Membership inference risk is not audited for local data: the server does not know which examples each device holds.';
	}
	const audited = models.filter((m) => m.membershipAudit).length;
	return (
		'Membership inference risk: AUC of a loss-threshold attack telling training examples of the devices that contributed ' +
		'from test examples no device held (0.5 = no better than guessing, 1 = every member exposed). It is a lower bound: ' +
		'stronger attacks may do better.' +
		(audited === 0 ? ' Each committed version is audited shortly after its round.' : '')
	);
}
