import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, platform, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import type { Project, Round } from '@qflare/protocol';
import type { ApiClient } from '../support/api-client';
import { freePort, freshDataDir, ServerProcess } from '../support/server-process';
import type { SimOptions } from './args';
import { startBrowserFleet, type BrowserEvent, type BrowserFleet } from './browser-fleet';
import { chartSvg, renderPng } from './chart';
import { MemorySampler } from './memory';
import type { HostEvent } from './node-host';
import { resolveParticipants } from './local-data';
import { startNodeFleet, type NodeFleet } from './node-fleet';
import { RoundPrinter } from './progress';
import { participantReports, roundReports, summarize, writeReport, METHODS, type ParticipantTrace, type SimReport } from './report';
import { WireCounter } from './wire-counter';

export interface SimResult {
	report: SimReport;
	reportFile: string;
	chartFile: string;
}

const POLL_MS = 1_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (since: number): number => Number(((Date.now() - since) / 1000).toFixed(2));

/** Applies a fleet event to the participant's trace. Both fleets speak the same event shapes. */
function record(traces: ParticipantTrace[], event: HostEvent | BrowserEvent, joinStarted: number, log: (l: string) => void): void {
	const t = traces[event.index];
	switch (event.type) {
		case 'joined':
			t.deviceId = event.deviceId;
			break;
		case 'ready':
			if ('deviceId' in event) t.deviceId = event.deviceId;
			t.backend = event.backend;
			t.samples = event.samples;
			t.joinMs = Date.now() - joinStarted;
			break;
		case 'selected':
			t.selectedRounds.push(event.round);
			break;
		case 'trained':
			t.trainMsByRound.set(event.round, event.trainMs);
			break;
		case 'dropped':
			t.droppedAtRound = event.round;
			break;
		case 'failed':
			t.error = event.error;
			log(`participant ${event.index} (${t.kind}) failed: ${event.error}`);
			break;
		case 'page-error':
			t.error ??= event.message;
			log(`participant ${event.index} (browser) page error: ${event.message}`);
			break;
	}
}

/**
 * One simulation: the production server on a free port with a fresh data directory, a project
 * made through the REST API, browser pages and Node participants each behind a byte-counting
 * relay, then the project's rounds watched through GET /rounds until it completes.
 */
export async function runSimulation(requested: SimOptions, log: (line: string) => void): Promise<SimResult> {
	const startedAt = new Date();
	// Local data: the example is split first, and a data folder may decide how many participants there are.
	const { options, data } = await resolveParticipants(requested, log);
	const local = options.local;
	const total = options.browsers + options.nodeParticipants;
	const traces: ParticipantTrace[] = Array.from({ length: total }, (_, index) => ({
		index,
		kind: index < options.browsers ? 'browser' : 'node',
		deviceId: null,
		backend: null,
		samples: null,
		joinMs: null,
		selectedRounds: [],
		trainMsByRound: new Map(),
		droppedAtRound: null,
		error: null,
		wire: { sent: 0, received: 0 },
		websocket: null
	}));
	const droppedIn = (round: number): number => traces.filter((t) => t.droppedAtRound === round).length;
	// The server asks every ready online device to score each committed model.
	const evaluators = (): number => traces.filter((t) => t.droppedAtRound === null && t.error === null).length;

	const memory = new MemorySampler();
	memory.start();
	const serverDir = freshDataDir();
	const nodesDir = mkdtempSync(path.join(tmpdir(), 'qflare-sim-nodes-'));
	const server = new ServerProcess(await freePort(), serverDir);
	const counters: WireCounter[] = [];
	let nodeFleet: NodeFleet | null = null;
	let browserFleet: BrowserFleet | null = null;
	let project: Project;
	let rounds: Round[] = [];
	const setup = { serverStartSeconds: 0, nodeJoinSeconds: 0, browserJoinSeconds: 0, browserProcesses: 0, nodeHostProcesses: 0 };

	try {
		let t0 = Date.now();
		await server.start();
		setup.serverStartSeconds = seconds(t0);
		const api = server.api();
		project = await api.createProject({
			name: `sim ${options.browsers} browsers + ${options.nodeParticipants} node, ${dataLabel(options)} ${options.model} ${options.partition}`,
			...(local ? { dataSource: 'local', task: local.task, holdOutFraction: local.holdOutFraction } : { dataset: options.dataset }),
			model: options.model,
			rounds: options.rounds,
			minParticipants: options.minParticipants,
			// One shard per participant: each trains on its own deterministic slice.
			shardCount: total,
			fraction: options.fraction,
			partition: options.partition,
			localEpochs: options.localEpochs,
			batchSize: options.batchSize,
			learningRate: options.learningRate,
			strategy: options.strategy,
			updateEncoding: options.updateEncoding,
			secureAggregation: options.secureAggregation,
			roundTimeoutSec: options.roundTimeoutSec,
			seed: options.seed
		});
		log(
			local
				? `server ${server.url} (data ${serverDir}), project ${project.id} on local data (${local.task.kind}, task from ${local.taskSource}); ` +
						`${total} participants, quorum ${options.minParticipants}`
				: `server ${server.url} (data ${serverDir}), project ${project.id}; ${total} shards, quorum ${options.minParticipants}`
		);

		// One join link for the whole fleet, as a coordinator would hand out to a class.
		const joinToken = await api.joinToken(project.id, { label: 'sim' });
		for (let i = 0; i < total; i++) {
			const counter = new WireCounter(server.port);
			await counter.start();
			counters.push(counter);
			traces[i].wire = counter.bytes;
		}

		// Node participants first: they join in seconds, while the pages' backend calibration
		// takes most of the set-up time and would slow their joins down.
		t0 = Date.now();
		const onEvent = (e: HostEvent | BrowserEvent): void => record(traces, e, t0, log);
		nodeFleet = await startNodeFleet({
			project: project.id,
			joinToken,
			seed: options.seed,
			dropout: options.dropout,
			perProcess: options.nodesPerProcess,
			participants: traces
				.filter((t) => t.kind === 'node')
				.map((t) => ({
					index: t.index,
					server: counters[t.index].url,
					dataDir: path.join(nodesDir, `node-${t.index}`),
					csvFile: data?.[t.index].kind === 'csv' ? data[t.index].path : null,
					imagesDir: data?.[t.index].kind === 'images' ? data[t.index].path : null
				})),
			onEvent
		});
		setup.nodeHostProcesses = nodeFleet.processes;
		await waitFor(() => traces.every((t) => t.kind !== 'node' || t.joinMs !== null || t.error !== null), 300_000, 'node participants to get ready');
		setup.nodeJoinSeconds = seconds(t0);
		if (options.nodeParticipants) {
			const joined = traces.filter((t) => t.kind === 'node' && t.joinMs !== null).length;
			log(`${joined} of ${options.nodeParticipants} node participants ready in ${setup.nodeJoinSeconds} s`);
		}

		t0 = Date.now();
		browserFleet = await startBrowserFleet({
			project: project.id,
			joinToken,
			seed: options.seed,
			dropout: options.dropout,
			pagesPerBrowser: options.pagesPerBrowser,
			participants: traces
				.filter((t) => t.kind === 'browser')
				.map((t) => ({ index: t.index, origin: counters[t.index].url, data: data?.[t.index] ?? null })),
			onEvent: (e) => record(traces, e, t0, log)
		});
		for (const [index, bytes] of browserFleet.websocketBytes) traces[index].websocket = bytes;
		setup.browserProcesses = browserFleet.processes;
		setup.browserJoinSeconds = seconds(t0);
		if (options.browsers) log(`${options.browsers} browser pages in ${setup.browserProcesses} Chromium processes ready in ${setup.browserJoinSeconds} s`);

		const failed = traces.filter((t) => t.error !== null && t.joinMs === null);
		if (failed.length) throw new Error(`${failed.length} participants failed to join; first: ${failed[0].error}`);
		await waitFor(
			async () => (await retrying(() => api.devices(project.id))).filter((d) => d.online && d.backend !== null).length >= total,
			60_000,
			'the server to list every participant as online'
		);

		const printer = new RoundPrinter(options.rounds, droppedIn, log, evaluators);
		await api.start(project.id);
		log(`started: ${options.rounds} rounds, fraction ${options.fraction}, dropout ${options.dropout}`);
		let openSince = Date.now();
		let openRound = 0;
		for (;;) {
			await sleep(POLL_MS);
			rounds = await retrying(() => api.rounds(project.id));
			printer.update(rounds);
			project = await retrying(() => api.project(project.id));
			if (project.status === 'completed' || project.status === 'stopped') break;
			const failedRounds = rounds.filter((r) => r.status === 'failed').length;
			if (failedRounds > options.rounds) throw new Error(`${failedRounds} rounds failed; giving up`);
			// A round that cannot start (too few participants left online) would wait forever.
			const current = rounds.find((r) => r.number === project.currentRound);
			if (current?.status === 'open') {
				if (openRound !== current.number) [openRound, openSince] = [current.number, Date.now()];
				else if (Date.now() - openSince > 60_000) {
					const online = (await retrying(() => api.devices(project.id))).filter((d) => d.online).length;
					throw new Error(`round ${current.number} could not start for 60 s: ${online} participants online, quorum ${options.minParticipants}`);
				}
			}
		}
		rounds = await waitForFederatedEvaluation(api, project.id, evaluators(), local ? 120_000 : 30_000, printer, log);
		for (const line of server.output) if (process.env.SIM_DEBUG || /rejected update/.test(line)) log(`server: ${line}`);
		const devices = await retrying(() => api.devices(project.id));

		const roundRows = roundReports(rounds, droppedIn);
		const participants = participantReports(traces, devices, rounds);
		memory.sample();
		const report: SimReport = {
			version: 1,
			startedAt: startedAt.toISOString(),
			finishedAt: new Date().toISOString(),
			wallSeconds: seconds(startedAt.getTime()),
			config: options,
			project,
			machine: { cpus: cpus().length, memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version, platform: platform() },
			setup,
			rounds: roundRows,
			participants,
			totals: summarize(roundRows, participants),
			memory: memory.peak,
			methods: METHODS
		};
		mkdirSync(options.out, { recursive: true });
		const reportFile = writeReport(options.out, report);
		const chartFile = path.join(options.out, 'chart.png');
		await teardown();
		const title = `${dataLabel(options)} ${options.model}, ${options.browsers} browsers + ${options.nodeParticipants} node, ${options.partition}, C=${options.fraction}, ${options.strategy.name}`;
		const committedRows = roundRows.filter((r) => r.status === 'committed');
		// Local data has no server test set: chart the federated evaluation (MAE for regression).
		const regression = local !== null && committedRows.some((r) => r.federatedEvaluation?.mae != null);
		await renderPng(
			local
				? chartSvg(
						committedRows.map((r) => ({
							round: r.number,
							accuracy: r.federatedEvaluation?.accuracy ?? null,
							loss: (regression ? r.federatedEvaluation?.mae : r.federatedEvaluation?.loss) ?? null
						})),
						title,
						{ accuracy: 'federated accuracy', loss: regression ? 'federated MAE' : 'federated loss' }
					)
				: chartSvg(committedRows.map((r) => ({ round: r.number, accuracy: r.testAccuracy, loss: r.testLoss })), title),
			chartFile
		);
		return { report, reportFile, chartFile };
	} catch (e) {
		// The server's last words usually say why a run broke off.
		for (const line of server.output.slice(-15)) log(`server: ${line}`);
		throw e;
	} finally {
		await teardown();
	}

	async function teardown(): Promise<void> {
		memory.stop();
		await nodeFleet?.stop().catch(() => undefined);
		await browserFleet?.stop().catch(() => undefined);
		nodeFleet = null;
		browserFleet = null;
		await Promise.all(counters.splice(0).map((c) => c.stop()));
		await server.stop();
		rmSync(nodesDir, { recursive: true, force: true });
		rmSync(serverDir, { recursive: true, force: true });
	}
}

function dataLabel(options: SimOptions): string {
	if (!options.local) return options.dataset;
	return options.local.example ?? `local ${options.local.task.kind} data`;
}

/**
 * Participants score a committed model after the commit and the server merges their reports as
 * they come, so the last round's federated evaluation lands after the project completes: waits
 * until every committed round's evaluation holds `evaluators` devices, up to timeoutMs, and says
 * which fell short rather than failing the run.
 */
async function waitForFederatedEvaluation(
	api: ApiClient,
	projectId: string,
	evaluators: number,
	timeoutMs: number,
	printer: RoundPrinter,
	log: (line: string) => void
): Promise<Round[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const rounds = await retrying(() => api.rounds(projectId));
		const short = rounds.filter((r) => r.status === 'committed' && (r.federatedEvaluation?.devices ?? 0) < evaluators);
		const timedOut = Date.now() > deadline;
		printer.update(rounds, timedOut);
		if (short.length === 0) return rounds;
		if (timedOut) {
			log(
				`after ${timeoutMs / 1000} s, federated evaluation from fewer than ${evaluators} participants for ` +
					short.map((r) => `round ${r.number} (${r.federatedEvaluation?.devices ?? 0})`).join(', ')
			);
			return rounds;
		}
		await sleep(POLL_MS);
	}
}

/**
 * Retries a read-only API call whose connection broke: under load the server closes idle
 * keep-alive sockets just as the client reuses them ("other side closed").
 */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await call();
		} catch (e) {
			if (attempt >= 4 || !(e instanceof TypeError)) throw e;
			await sleep(250 * attempt);
		}
	}
}

async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(250);
	}
}
