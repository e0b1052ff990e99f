import { isFinalBatch, progressFraction, type LogEntry, type ParticipantState, type StateListener } from '@qflare/participant';

export interface ProgressPrinterOptions {
	/** Receives each finished line (no trailing newline). */
	write(line: string): void;
	/** Shown in brackets on every line, e.g. the --name or the short device id. */
	label?: string;
	/** Training progress is printed at most this often, plus the last batch (default 2 s). */
	progressEveryMs?: number;
	now?: () => number;
}

function clock(at: number): string {
	return new Date(at).toISOString().slice(11, 19);
}

/**
 * Turns session state changes into log lines: every note the session makes (login, backend,
 * round task, upload accepted or rejected with its code, round closed with the global model's
 * accuracy), plus throttled training progress and a per-round training summary.
 */
export function progressPrinter(options: ProgressPrinterOptions): StateListener {
	const now = options.now ?? Date.now;
	const every = options.progressEveryMs ?? 2_000;
	let prev: ParticipantState | null = null;
	let lastLog: LogEntry | undefined;
	let lastProgressAt = Number.NEGATIVE_INFINITY;
	const line = (at: number, message: string) =>
		options.write(`${clock(at)} ${options.label ? `[${options.label}] ` : ''}${message}`);

	return (state) => {
		// The log is newest first; print what arrived since the last call, oldest first.
		const fresh: LogEntry[] = [];
		for (const entry of state.log) {
			if (entry === lastLog) break;
			fresh.push(entry);
		}
		lastLog = state.log[0];
		for (const entry of fresh.reverse()) line(entry.at, entry.message);

		const p = state.progress;
		if (p && p !== prev?.progress && state.currentRound) {
			const t = now();
			if (t - lastProgressAt >= every || isFinalBatch(p)) {
				lastProgressAt = t;
				const loss = p.loss === null ? '' : `, loss ${p.loss.toFixed(3)}`;
				line(t, `round ${state.currentRound.roundNumber}: ${Math.round(progressFraction(p) * 100)}% (epoch ${p.epoch}/${p.epochs}, batch ${p.batch}/${p.batches}${loss})`);
			}
		}
		const done = state.lastTraining;
		if (done && done !== prev?.lastTraining) {
			const msPerStep = done.steps > 0 ? done.trainMs / done.steps : 0;
			line(
				now(),
				`round ${done.roundNumber}: trained ${done.steps} steps on ${done.numSamples} samples in ${(done.trainMs / 1000).toFixed(1)} s ` +
					`(${msPerStep.toFixed(1)} ms/step on ${state.backend ?? '?'}), local loss ${done.loss.toFixed(3)}` +
					(done.accuracy === null ? '' : `, accuracy ${(done.accuracy * 100).toFixed(1)}%`)
			);
		}
		const status = state.project?.status;
		if (status && status !== prev?.project?.status && prev?.project) line(now(), `project ${status}`);
		prev = state;
	};
}
