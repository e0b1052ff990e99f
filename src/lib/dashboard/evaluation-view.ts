import type { DeviceEvaluation, FederatedEvaluation, MembershipAudit, ModelRecord, Round } from '@qflare/protocol';
import type { Point } from '../chart/chart-scale';
import { decimal, percent } from '../display-format';

// Federated evaluation as the dashboard shows it: chart series per round, one-line summaries, and
// the rows of the model card.

export interface EvaluationSeries {
	/** Classification: federated accuracy and macro-F1 (the test set's figures come from metricSeries). */
	accuracy: Point[];
	macroF1: Point[];
	/** Regression and forecasts: federated MAE and RMSE in the target's units. */
	mae: Point[];
	rmse: Point[];
}

const point = (r: Round, y: number | null | undefined): Point[] => (y === null || y === undefined ? [] : [{ x: r.number, y }]);

/** Points per committed round; a round without a figure has no point (the line skips it). */
export function evaluationSeries(rounds: readonly Round[]): EvaluationSeries {
	const done = rounds.filter((r) => r.status === 'committed').sort((a, b) => a.number - b.number);
	return {
		accuracy: done.flatMap((r) => point(r, r.federatedEvaluation?.accuracy)),
		macroF1: done.flatMap((r) => point(r, r.federatedEvaluation?.macroF1)),
		mae: done.flatMap((r) => point(r, r.federatedEvaluation?.mae)),
		rmse: done.flatMap((r) => point(r, r.federatedEvaluation?.rmse))
	};
}

/** The task's quality figures in one line, e.g. "accuracy 80.0% · macro-F1 0.792 · n 10". */
export function formatEvaluation(e: Pick<FederatedEvaluation, 'n' | 'accuracy' | 'macroF1' | 'mae' | 'rmse'> | null | undefined): string {
	if (!e) return '–';
	const parts: string[] = [];
	if (e.accuracy !== null) parts.push(`accuracy ${percent(e.accuracy)}`);
	if (e.macroF1 !== null) parts.push(`macro-F1 ${decimal(e.macroF1)}`);
	if (e.mae !== null) parts.push(`MAE ${significant(e.mae)}`);
	if (e.rmse !== null) parts.push(`RMSE ${significant(e.rmse)}`);
	parts.push(`n ${e.n}`);
	return parts.join(' · ');
}

/** Four significant digits: errors in target units may be 0.0012 or 1234. */
export function significant(v: number): string {
	if (!Number.isFinite(v)) return '–';
	if (v === 0) return '0';
	return Math.abs(v) >= 1e4 ? v.toFixed(0) : String(Number(v.toPrecision(4)));
}

/** A device's last evaluation with the model version it scored. */
export function formatDeviceEvaluation(e: DeviceEvaluation | null): string {
	return e ? `${formatEvaluation(e)} (v${e.modelVersion})` : '–';
}

export interface ModelCardRow {
	version: number;
	round: number | null;
	parameterCount: number;
	testAccuracy: number | null;
	trainLoss: number | null;
	federated: FederatedEvaluation | null;
	/** The loss-threshold membership-inference audit (demo data); null before it is done or where there is none. */
	membershipAudit: MembershipAudit | null;
	createdAt: string;
}

/** One row per model version, newest first, with the round that produced it. */
export function modelCardRows(models: readonly ModelRecord[], rounds: readonly Round[]): ModelCardRow[] {
	const byNumber = new Map(rounds.map((r) => [r.number, r]));
	return [...models]
		.sort((a, b) => b.version - a.version)
		.map((m) => {
			const round = m.roundNumber === null ? undefined : byNumber.get(m.roundNumber);
			return {
				version: m.version,
				round: m.roundNumber,
				parameterCount: m.parameterCount,
				testAccuracy: m.testAccuracy,
				trainLoss: round?.metrics.trainLoss ?? null,
				federated: m.federatedEvaluation ?? round?.federatedEvaluation ?? null,
				// Records from before the audit existed, or from an older server, lack the field.
				membershipAudit: m.membershipAudit ?? null,
				createdAt: m.createdAt
			};
		});
}
