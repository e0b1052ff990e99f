import type { DeviceTrust } from '@qflare/protocol';
import { decimal } from '../display-format';

export interface TrustView {
	/** Score as a whole percentage. */
	percent: number;
	level: 'ok' | 'warn' | 'bad' | 'new';
	title: string;
}

/**
 * How a device's trust reads in the table. A device with no update yet scores 0.5 by
 * construction (one pseudo-accept, one pseudo-reject), so it is shown as new, not as doubtful.
 */
export function trustView(trust: DeviceTrust): TrustView {
	const score = Number.isFinite(trust.score) ? Math.min(1, Math.max(0, trust.score)) : 0;
	const events = trust.accepted + trust.rejected;
	const level = events === 0 ? 'new' : score >= 0.5 ? 'ok' : score >= 0.25 ? 'warn' : 'bad';
	const title =
		events === 0
			? 'No update screened yet'
			: `${trust.accepted} accepted · ${trust.rejected} rejected · mean distance to aggregate ${decimal(trust.meanDistance)}`;
	return { percent: Math.round(score * 100), level, title };
}
