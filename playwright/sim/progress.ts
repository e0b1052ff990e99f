import type { FederatedEvaluation, Round } from '@qflare/protocol';

/** Seconds from a round's opening to its end (server clock), or null while it runs. */
export function roundWallSeconds(round: Round): number | null {
	if (!round.endedAt) return null;
	return (Date.parse(round.endedAt) - Date.parse(round.startedAt)) / 1000;
}

const pct = (x: number | null): string => (x === null ? '   –  ' : `${(x * 100).toFixed(2).padStart(6)}%`);

/** One line per finished round: round, done/selected, dropouts, test accuracy, loss, wall time. */
export function progressLine(round: Round, totalRounds: number, dropped: number): string {
	const wall = roundWallSeconds(round);
	const head = `round ${String(round.number).padStart(String(totalRounds).length)}/${totalRounds}`;
	const done = `done ${round.accepted.length}/${round.selected.length}${dropped ? ` (${dropped} dropped)` : ''}`;
	const time = wall === null ? '' : `  ${wall.toFixed(1)} s`;
	if (round.status === 'failed') return `${head}  ${done}  FAILED: ${round.failureReason ?? 'unknown'}${time}`;
	const loss = round.metrics.testLoss === null ? '–' : round.metrics.testLoss.toFixed(4);
	return `${head}  ${done}  accuracy ${pct(round.metrics.testAccuracy)}  loss ${loss}${time}`;
}

/** The federated evaluation of a round's model in one line: the task's metrics, n and devices. */
export function federatedLine(roundNumber: number, totalRounds: number, e: FederatedEvaluation): string {
	const head = `round ${String(roundNumber).padStart(String(totalRounds).length)}/${totalRounds}`;
	const metrics = [
		e.accuracy === null ? null : `accuracy ${pct(e.accuracy)}`,
		e.macroF1 === null ? null : `macro-F1 ${e.macroF1.toFixed(4)}`,
		e.mae === null ? null : `MAE ${+e.mae.toPrecision(4)}`,
		e.rmse === null ? null : `RMSE ${+e.rmse.toPrecision(4)}`,
		`loss ${e.loss.toFixed(4)}`
	].filter((m) => m !== null);
	return `${head}  federated evaluation of v${e.modelVersion}: ${metrics.join('  ')}  (n ${e.n}, ${e.devices} devices)`;
}

/**
 * Prints each round once, when it commits or fails, and its federated evaluation once it is in, from polls of GET /rounds (the runner
 * observes the platform the way a coordinator's script would).
 */
export class RoundPrinter {
	readonly #printed = new Set<string>();
	readonly #evaluated = new Set<string>();

	constructor(
		private readonly totalRounds: number,
		private readonly droppedIn: (round: number) => number,
		private readonly write: (line: string) => void,
		/** Participants expected to score each committed model (those still taking part). */
		private readonly expectedEvaluators: () => number = () => 1
	) {}

	/** `final`: print evaluations even if fewer participants than expected reported. */
	update(rounds: readonly Round[], final = false): void {
		for (const r of [...rounds].sort((a, b) => a.number - b.number)) {
			if ((r.status === 'committed' || r.status === 'failed') && !this.#printed.has(r.id)) {
				this.#printed.add(r.id);
				this.write(progressLine(r, this.totalRounds, this.droppedIn(r.number)));
			}
			// Participants score the committed model after the commit: its evaluation comes later.
			const evaluation = r.federatedEvaluation;
			if (evaluation && !this.#evaluated.has(r.id) && (final || evaluation.devices >= this.expectedEvaluators())) {
				this.#evaluated.add(r.id);
				this.write(federatedLine(r.number, this.totalRounds, evaluation));
			}
		}
	}
}
