import type { Round, StrategyConfig } from '@qflare/protocol';

export interface PrivacySpent {
	/** Cumulative epsilon after the latest accounted round; 0 before any. */
	epsilon: number;
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

/** Delta in scientific notation, which is how it is chosen (1e-5, not 0.00001). */
export function formatDelta(delta: number): string {
	return delta.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
}
