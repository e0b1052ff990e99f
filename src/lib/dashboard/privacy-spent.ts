import type { Round, StrategyConfig } from '@qflare/protocol';

export interface PrivacySpent {
	/** Cumulative epsilon after the latest accounted round (Canonne-Kamath-Steinke conversion); 0 before any. */
	epsilon: number;
	/** The classic RDP conversion of the same round, shown beside it; null on rounds stored without it. */
	epsilonClassic: number | null;
	target: number | null;
	delta: number;
	/** epsilon / target, capped at 1; null without a target. */
	share: number | null;
	rounds: number;
}

/** Privacy spent so far by a DP-FedAvg project; null for other strategies. */
export function privacySpent(strategy: StrategyConfig, rounds: readonly Round[]): PrivacySpent | null {
	if (strategy.name !== 'dp-fedavg') return null;
	const accounted = rounds.filter((r) => r.privacy !== null);
	// Epsilon is cumulative, so the latest accounted round holds the total.
	const latest = accounted.reduce<Round | null>((a, r) => (a === null || r.number > a.number ? r : a), null);
	const epsilon = latest?.privacy?.epsilon ?? 0;
	const target = strategy.targetEpsilon;
	return {
		epsilon,
		epsilonClassic: latest ? (latest.privacy?.epsilonClassic ?? null) : 0,
		target,
		delta: latest?.privacy?.delta ?? strategy.delta,
		share: target === null ? null : Math.min(1, epsilon / target),
		rounds: accounted.length
	};
}

/** Epsilon as people quote it: two decimals, or the infinity sign when unbounded (z = 0). */
export function formatEpsilon(epsilon: number | null | undefined): string {
	if (epsilon === null || epsilon === undefined || Number.isNaN(epsilon)) return '–';
	if (!Number.isFinite(epsilon)) return '∞';
	return epsilon >= 100 ? epsilon.toFixed(0) : epsilon.toFixed(2);
}

/**
 * The reported epsilon with the classic conversion beside it: "1.84 (classic 2.31)". Rounds
 * stored before the classic value was recorded carry only the classic one, as `epsilon`, and
 * show it alone.
 */
export function formatEpsilonPair(privacy: { epsilon: number; epsilonClassic?: number | null } | null | undefined): string {
	if (!privacy) return formatEpsilon(null);
	const reported = formatEpsilon(privacy.epsilon);
	if (privacy.epsilonClassic === null || privacy.epsilonClassic === undefined) return reported;
	return `${reported} (classic ${formatEpsilon(privacy.epsilonClassic)})`;
}

/** Delta in scientific notation, which is how it is chosen (1e-5, not 0.00001). */
export function formatDelta(delta: number): string {
	return delta.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
}
