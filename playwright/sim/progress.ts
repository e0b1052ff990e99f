import type { Round } from '@qflare/protocol';

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

/**
 * Prints each round once, when it commits or fails, from polls of GET /rounds (the runner
 * observes the platform the way a coordinator's script would).
 */
export class RoundPrinter {
	readonly #printed = new Set<string>();

	constructor(
		private readonly totalRounds: number,
		private readonly droppedIn: (round: number) => number,
		private readonly write: (line: string) => void
	) {}

	update(rounds: readonly Round[]): void {
		for (const r of [...rounds].sort((a, b) => a.number - b.number)) {
			if ((r.status !== 'committed' && r.status !== 'failed') || this.#printed.has(r.id)) continue;
			this.#printed.add(r.id);
			this.write(progressLine(r, this.totalRounds, this.droppedIn(r.number)));
		}
	}
}
