import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Device, FederatedEvaluation, Project, Round } from '@qflare/protocol';
import type { SimOptions } from './args';
import type { MemoryPeak } from './memory';
import { roundWallSeconds } from './progress';
import type { WireBytes } from './wire-counter';

export type ParticipantKind = 'browser' | 'node';

/** What the runner learned about one participant while the simulation ran. */
export interface ParticipantTrace {
	index: number;
	kind: ParticipantKind;
	deviceId: string | null;
	backend: string | null;
	samples: number | null;
	joinMs: number | null;
	selectedRounds: number[];
	trainMsByRound: Map<number, number>;
	droppedAtRound: number | null;
	error: string | null;
	wire: WireBytes;
	/** Browser pages only: payload bytes of their websocket frames. */
	websocket: { sent: number; received: number } | null;
}

export interface RoundReport {
	number: number;
	status: Round['status'];
	selected: number;
	accepted: number;
	droppedOut: number;
	totalSamples: number;
	testAccuracy: number | null;
	testLoss: number | null;
	trainLoss: number | null;
	trainAccuracy: number | null;
	wallSeconds: number | null;
	failureReason: string | null;
	/** The committed model scored by the participants on their local hold-outs, merged by n; null until reported. */
	federatedEvaluation: FederatedEvaluation | null;
}

export interface ParticipantReport {
	index: number;
	kind: ParticipantKind;
	deviceId: string | null;
	backend: string | null;
	samples: number | null;
	shardIndex: number | null;
	joinMs: number | null;
	selectedRounds: number[];
	/** Rounds whose accepted list (server) holds this device. */
	acceptedRounds: number[];
	trainedRounds: { round: number; trainMs: number }[];
	trainMsTotal: number;
	droppedAtRound: number | null;
	error: string | null;
	bytesSent: number;
	bytesReceived: number;
	websocketBytesSent: number | null;
	websocketBytesReceived: number | null;
}

export interface SimReport {
	version: 1;
	startedAt: string;
	finishedAt: string;
	wallSeconds: number;
	config: SimOptions;
	project: Project;
	machine: { cpus: number; memoryGiB: number; node: string; platform: string };
	setup: {
		serverStartSeconds: number;
		nodeJoinSeconds: number;
		browserJoinSeconds: number;
		browserProcesses: number;
		nodeHostProcesses: number;
	};
	rounds: RoundReport[];
	participants: ParticipantReport[];
	totals: {
		committedRounds: number;
		failedRounds: number;
		participantsByKind: Record<ParticipantKind, number>;
		droppedOut: number;
		bytesSent: number;
		bytesReceived: number;
		meanCommittedRoundSeconds: number | null;
		finalTestAccuracy: number | null;
		/** Federated evaluation of the last committed round's model. */
		finalFederatedEvaluation: FederatedEvaluation | null;
	};
	memory: MemoryPeak;
	/** How each figure was measured. */
	methods: Record<string, string>;
}

export const METHODS: Record<string, string> = {
	bytes:
		'bytesSent/bytesReceived: TCP payload bytes through a loopback relay the runner puts in front of the server, one per participant ' +
		'(browser pages and Node participants alike), so it covers HTTP (for browsers the page, its scripts and the .wasm files; the data shard) ' +
		'and the socket.io websocket (tasks with the global model, updates, progress). websocketBytes*: browsers only, payload bytes of the ' +
		"page's websocket frames as Playwright sees them (framesent/framereceived): the FL protocol without HTTP or websocket framing.",
	trainMs:
		"trainMs: the participant's own figure for a round's local training. Browsers: read from the trainMs field of the round:update frame " +
		'the page sends; Node participants: state().lastTraining.trainMs (compute time only, excluding waits for other participants in the process).',
	wallSeconds: "round wallSeconds: the round's endedAt minus startedAt on the server clock (opening, selection, training, aggregation, evaluation).",
	memory:
		'memory: proportional set size (PSS, /proc/PID/smaps_rollup) summed over the runner and all its descendants (server, Chromium, hosts), ' +
		'sampled every 2 s; byRole peaks are per role and may come from different samples.',
	federatedEvaluation:
		'rounds[].federatedEvaluation: the server\'s merge (weighted by n) of the eval:report each online participant sent after scoring the ' +
		"round's committed model on its local hold-out (holdOutFraction of its data, fixed by seed), read from GET /rounds. Local-data " +
		'projects have no server test set: this is their quality figure. mae/rmse are in the target\'s units.',
	dropout:
		'dropout: a selected participant drops out with probability P, decided by a hash of (seed, participant index, round); it leaves once its ' +
		'training has started (browser: progress bar active past 0; Node: first batch reported), closes its page or stops, and does not return.'
};

export function roundReports(rounds: readonly Round[], droppedIn: (round: number) => number): RoundReport[] {
	return [...rounds]
		.sort((a, b) => a.number - b.number)
		.map((r) => ({
			number: r.number,
			status: r.status,
			selected: r.selected.length,
			accepted: r.accepted.length,
			droppedOut: droppedIn(r.number),
			totalSamples: r.totalSamples,
			testAccuracy: r.metrics.testAccuracy,
			testLoss: r.metrics.testLoss,
			trainLoss: r.metrics.trainLoss,
			trainAccuracy: r.metrics.trainAccuracy,
			wallSeconds: roundWallSeconds(r),
			failureReason: r.failureReason,
			federatedEvaluation: r.federatedEvaluation ?? null
		}));
}

export function participantReports(
	traces: readonly ParticipantTrace[],
	devices: readonly Device[],
	rounds: readonly Round[]
): ParticipantReport[] {
	const byId = new Map(devices.map((d) => [d.id, d]));
	return traces.map((t) => {
		const device = t.deviceId ? byId.get(t.deviceId) : undefined;
		const trainedRounds = [...t.trainMsByRound].sort(([a], [b]) => a - b).map(([round, trainMs]) => ({ round, trainMs: Math.round(trainMs) }));
		return {
			index: t.index,
			// The server's record wins: it is what the participant declared when it logged in.
			kind: device?.kind ?? t.kind,
			deviceId: t.deviceId,
			backend: device?.backend ?? t.backend,
			samples: device?.samples ?? t.samples,
			shardIndex: device?.shardIndex ?? null,
			joinMs: t.joinMs,
			selectedRounds: t.selectedRounds,
			acceptedRounds: rounds
				.filter((r) => t.deviceId !== null && r.accepted.includes(t.deviceId))
				.map((r) => r.number)
				.sort((a, b) => a - b),
			trainedRounds,
			trainMsTotal: trainedRounds.reduce((s, r) => s + r.trainMs, 0),
			droppedAtRound: t.droppedAtRound,
			error: t.error,
			bytesSent: t.wire.sent,
			bytesReceived: t.wire.received,
			websocketBytesSent: t.websocket?.sent ?? null,
			websocketBytesReceived: t.websocket?.received ?? null
		};
	});
}

export function summarize(rounds: readonly RoundReport[], participants: readonly ParticipantReport[]): SimReport['totals'] {
	const committed = rounds.filter((r) => r.status === 'committed');
	const walls = committed.map((r) => r.wallSeconds).filter((w): w is number => w !== null);
	return {
		committedRounds: committed.length,
		failedRounds: rounds.filter((r) => r.status === 'failed').length,
		participantsByKind: {
			browser: participants.filter((p) => p.kind === 'browser').length,
			node: participants.filter((p) => p.kind === 'node').length
		},
		droppedOut: participants.filter((p) => p.droppedAtRound !== null).length,
		bytesSent: participants.reduce((s, p) => s + p.bytesSent, 0),
		bytesReceived: participants.reduce((s, p) => s + p.bytesReceived, 0),
		meanCommittedRoundSeconds: walls.length ? Number((walls.reduce((s, w) => s + w, 0) / walls.length).toFixed(2)) : null,
		finalTestAccuracy: committed.at(-1)?.testAccuracy ?? null,
		finalFederatedEvaluation: committed.at(-1)?.federatedEvaluation ?? null
	};
}

export function writeReport(dir: string, report: SimReport): string {
	mkdirSync(dir, { recursive: true });
	const file = path.join(dir, 'report.json');
	writeFileSync(file, `${JSON.stringify(report, null, '\t')}\n`);
	return file;
}
