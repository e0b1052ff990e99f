import { startNodeParticipant, type NodeParticipant, type ParticipantState } from '@qflare/participant-node';
import { dropsOut } from './dropout';

export interface HostedParticipant {
	/** Participant index across the whole simulation (seeds its dropouts). */
	index: number;
	/** Origin it talks to: its own byte-counting relay in front of the server. */
	server: string;
	dataDir: string;
	/** Local-data projects: the CSV file (tabular, time series) or image folder this participant imports. */
	csvFile?: string | null;
	imagesDir?: string | null;
}

export interface HostConfig {
	project: string;
	/** The project's join token (new devices register only with one). */
	joinToken: string;
	seed: number;
	dropout: number;
	participants: HostedParticipant[];
}

/** What a host reports; plain data so it crosses a child-process IPC channel unchanged. */
export type HostEvent =
	| { type: 'joined'; index: number; deviceId: string }
	| { type: 'ready'; index: number; backend: string; samples: number }
	| { type: 'selected'; index: number; round: number }
	| { type: 'trained'; index: number; round: number; trainMs: number }
	| { type: 'dropped'; index: number; round: number }
	| { type: 'failed'; index: number; error: string };

export interface Host {
	stopAll(): void;
}

/** Login, shard download and calibration at once for this many; more only slows each down. */
const START_CONCURRENCY = 16;

/**
 * Runs a group of headless participants in this process, reports their progress as HostEvents
 * and applies the seeded dropouts: a participant that drops out leaves after its first
 * training batch of that round (so it trained but sent nothing) and never comes back.
 */
export async function hostParticipants(config: HostConfig, emit: (event: HostEvent) => void): Promise<Host> {
	const running: NodeParticipant[] = [];
	let stopping = false;
	const queue = [...config.participants];

	async function startOne(spec: HostedParticipant): Promise<void> {
		const handle = await startNodeParticipant({
			server: spec.server,
			project: config.project,
			joinToken: config.joinToken,
			dataDir: spec.dataDir,
			csvFile: spec.csvFile ?? null,
			imagesDir: spec.imagesDir ?? null,
			name: `sim-node-${spec.index}`
		});
		if (stopping) return handle.stop();
		running.push(handle);
		emit({ type: 'joined', index: spec.index, deviceId: handle.deviceId });
		watch(spec.index, handle);
	}

	function watch(index: number, handle: NodeParticipant): void {
		let readySent = false;
		let selectedRound = 0;
		let decidedRound = 0;
		let trainedRound = 0;
		let gone = false;
		handle.subscribe((s: ParticipantState) => {
			if (gone) return;
			if (!readySent && s.phase === 'waiting' && s.backend && s.samples) {
				readySent = true;
				emit({ type: 'ready', index, backend: s.backend, samples: s.samples });
			}
			const round = s.currentRound?.roundNumber ?? 0;
			if (s.phase === 'training' && round > selectedRound) {
				selectedRound = round;
				emit({ type: 'selected', index, round });
			}
			// The first progress report of a round is the first finished batch: training is under way.
			if (s.phase === 'training' && s.progress && round > decidedRound) {
				decidedRound = round;
				if (dropsOut(config.seed, index, round, config.dropout)) {
					gone = true;
					// After the listener chain, before the trainer's next batch: stop() mid-update would
					// hand the remaining listeners a stale state.
					queueMicrotask(() => {
						handle.stop();
						emit({ type: 'dropped', index, round });
					});
					return;
				}
			}
			const last = s.lastTraining;
			if (last && last.roundNumber > trainedRound) {
				trainedRound = last.roundNumber;
				emit({ type: 'trained', index, round: last.roundNumber, trainMs: last.trainMs });
			}
			// needs-data: the participant's files cannot take part (its message says why); it sent nothing.
			if (s.phase === 'failed' || s.phase === 'needs-data') {
				gone = true;
				emit({ type: 'failed', index, error: s.error ?? 'failed' });
			}
		});
	}

	const workers = Array.from({ length: Math.min(START_CONCURRENCY, queue.length) }, async () => {
		for (let spec = queue.shift(); spec; spec = queue.shift()) {
			try {
				await startOne(spec);
			} catch (e) {
				emit({ type: 'failed', index: spec.index, error: e instanceof Error ? e.message : String(e) });
			}
		}
	});
	await Promise.all(workers);
	return {
		stopAll() {
			stopping = true;
			for (const p of running) p.stop();
		}
	};
}
