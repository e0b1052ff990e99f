import { encodeWeights, type RoundTask } from '@qflare/protocol';
import { MODEL_SPECS, parameterCount } from '@qflare/trainer';
import { startChildServer, type ChildServer } from '../lib/child-server';
import { api, createProject, joinToken, ProtocolParticipant, type PreparedUpdate } from '../lib/participant-client';
import { summarize } from '../lib/stats';
import { syntheticDelta } from '../lib/synthetic';
import { fmtSummary, type Section, type TableRow } from '../lib/types';

/** Samples of /metrics (prom-client, read with the owner's API key) this section needs. */
interface ServerMetrics {
	heapUsedMb: number | null;
	cpuSeconds: number | null;
	devicesOnline: number | null;
	/** qflare_round_duration_seconds{status="committed"}: sum and count, to difference around rounds. */
	roundSecondsSum: number | null;
	roundCount: number | null;
}

function metricValue(text: string, name: string, labels?: string): number | null {
	for (const line of text.split('\n')) {
		if (!line.startsWith(name)) continue;
		const rest = line.slice(name.length);
		if (rest[0] !== ' ' && rest[0] !== '{') continue;
		if (labels && !rest.includes(labels)) continue;
		const v = Number(rest.slice(rest.lastIndexOf(' ') + 1));
		if (Number.isFinite(v)) return v;
	}
	return null;
}

async function readMetrics(server: ChildServer): Promise<ServerMetrics> {
	const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.auth!.apiKey}` } });
	if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
	const text = await res.text();
	const heap = metricValue(text, 'qflare_nodejs_heap_size_used_bytes');
	return {
		heapUsedMb: heap === null ? null : Math.round((heap / 2 ** 20) * 10) / 10,
		cpuSeconds: metricValue(text, 'qflare_process_cpu_seconds_total'),
		devicesOnline: metricValue(text, 'qflare_devices_online'),
		roundSecondsSum: metricValue(text, 'qflare_round_duration_seconds_sum', 'status="committed"'),
		roundCount: metricValue(text, 'qflare_round_duration_seconds_count', 'status="committed"')
	};
}

/** Joins `count` participants with at most `concurrency` registrations in flight. */
async function joinMany(server: ChildServer, projectId: string, token: string, count: number, concurrency: number, into: ProtocolParticipant[]): Promise<number> {
	const t0 = performance.now();
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(concurrency, count) }, async () => {
			while (next < count) {
				next++;
				into.push(await ProtocolParticipant.join(server.url, projectId, token));
			}
		})
	);
	return performance.now() - t0;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface IdleStep {
	sockets: number;
	rssMb: number | null;
	heapUsedMb: number | null;
	devicesOnline: number | null;
	/** Registrations (challenge + ML-DSA login) per second while joining this step's new sockets. */
	loginsPerS: number;
	/** (RSS now - RSS with no participants) / sockets. */
	kbPerSocketRss: number | null;
	kbPerSocketHeap: number | null;
	serverCpuSecondsPerLogin: number | null;
}

/** Least-squares slope of MB over sockets through (0, baseline) and every step, in KB per socket. */
function slopeKb(base: number | null, points: [number, number | null][]): number | null {
	if (base === null || points.some(([, y]) => y === null)) return null;
	const xs = [0, ...points.map(([x]) => x)];
	const ys = [base, ...points.map(([, y]) => y as number)];
	const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
	const my = ys.reduce((a, b) => a + b, 0) / ys.length;
	const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
	const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
	return Math.round((num / den) * 1024 * 10) / 10;
}

interface IdleResult {
	baseline: { rssMb: number | null; heapUsedMb: number | null };
	steps: IdleStep[];
	/** Fitted over all steps: the marginal memory of one more idle socket. */
	slope: { kbPerSocketRss: number | null; kbPerSocketHeap: number | null };
}

async function idleSockets(steps: number[], log: (m: string) => void): Promise<IdleResult> {
	const server = await startChildServer('qflare-server.ts');
	const participants: ProtocolParticipant[] = [];
	try {
		const project = await createProject<{ id: string }>(server, {
			name: 'bench capacity idle',
			dataset: 'mnist',
			model: 'mlp',
			rounds: 10,
			minParticipants: 100_000,
			shardCount: 100,
			seed: 1
		});
		const token = await joinToken(server, project.id);
		// Warm the code paths (first login, first store writes) before the baseline, then let it settle.
		await joinMany(server, project.id, token, 5, 5, participants);
		for (const p of participants.splice(0)) p.close();
		await settle(3_000);
		const m0 = await readMetrics(server);
		const baseline = { rssMb: server.rssMb(), heapUsedMb: m0.heapUsedMb };
		log(`idle: baseline RSS ${baseline.rssMb} MB, heap ${baseline.heapUsedMb} MB`);
		const out: IdleStep[] = [];
		let cpuBefore = m0.cpuSeconds;
		for (const n of steps) {
			const add = n - participants.length;
			const ms = await joinMany(server, project.id, token, add, 32, participants);
			await settle(3_000);
			const m = await readMetrics(server);
			const rssMb = server.rssMb();
			const per = (now: number | null, base: number | null) => (now === null || base === null ? null : Math.round(((now - base) * 1024 * 10) / n) / 10);
			const step: IdleStep = {
				sockets: n,
				rssMb,
				heapUsedMb: m.heapUsedMb,
				devicesOnline: m.devicesOnline,
				loginsPerS: Math.round((add / (ms / 1000)) * 10) / 10,
				kbPerSocketRss: per(rssMb, baseline.rssMb),
				kbPerSocketHeap: per(m.heapUsedMb, baseline.heapUsedMb),
				serverCpuSecondsPerLogin: m.cpuSeconds !== null && cpuBefore !== null ? Math.round(((m.cpuSeconds - cpuBefore) / add) * 1e5) / 1e5 : null
			};
			cpuBefore = m.cpuSeconds;
			out.push(step);
			log(
				`idle: ${n} sockets (${m.devicesOnline} online): RSS ${rssMb} MB (${step.kbPerSocketRss} KB/socket), heap ${m.heapUsedMb} MB (${step.kbPerSocketHeap} KB/socket), ` +
					`${step.loginsPerS} logins/s, client RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`
			);
		}
		return { baseline, steps: out, slope: { kbPerSocketRss: slopeKb(baseline.rssMb, out.map((s) => [s.sockets, s.rssMb])), kbPerSocketHeap: slopeKb(baseline.heapUsedMb, out.map((s) => [s.sockets, s.heapUsedMb])) } };
	} finally {
		for (const p of participants) p.close();
		await server.stop();
	}
}

interface RoundsResult {
	selected: number;
	rounds: number;
	joinMs: number;
	/** First round:task received to every participant's round:closed, per round (includes clients hashing and signing). */
	roundWallMs: number[];
	/** The server's own qflare_round_duration_seconds (round start to commit), mean over the measured rounds. */
	serverRoundMs: number | null;
	/** All updates released together (signed in advance) to the last ack. */
	uploadMs: number[];
	updatesPerS: number[];
	/** Server CPU seconds (qflare_process_cpu_seconds_total) per round and per update. */
	serverCpuSecondsPerRound: number | null;
	serverCpuMsPerUpdate: number | null;
	peakRssMb: number | null;
	rssBeforeRoundsMb: number | null;
	clientSignMs: number[];
}

function mlpPayloads(count: number, parameters: number): Uint8Array[] {
	const base = encodeWeights(syntheticDelta(parameters, 11));
	return Array.from({ length: count }, (_, i) => {
		const p = base.slice();
		p[p.length - 4] = i & 0xff;
		p[p.length - 8] = (i >> 8) & 0xff;
		return p;
	});
}

async function selectedRounds(selected: number, rounds: number, log: (m: string) => void): Promise<RoundsResult> {
	const parameters = parameterCount(MODEL_SPECS.mlp);
	const server = await startChildServer('qflare-server.ts');
	const participants: ProtocolParticipant[] = [];
	try {
		const project = await createProject<{ id: string }>(server, {
			name: `bench capacity ${selected}`,
			dataset: 'mnist',
			model: 'mlp',
			rounds: 10_000,
			minParticipants: selected,
			fraction: 1,
			shardCount: selected,
			roundTimeoutSec: 3_600,
			seed: 1
		});
		const token = await joinToken(server, project.id);
		const joinMs = await joinMany(server, project.id, token, selected, 32, participants);
		await Promise.all(participants.map((p) => p.ready(100)));
		const payloads = mlpPayloads(selected, parameters);
		const rssBeforeRoundsMb = server.rssMb();
		log(`rounds ${selected}: joined in ${(joinMs / 1000).toFixed(1)} s, RSS ${rssBeforeRoundsMb} MB`);
		await api(server, 'POST', `/projects/${project.id}/start`);
		const roundWallMs: number[] = [];
		const uploadMs: number[] = [];
		const clientSignMs: number[] = [];
		let cpu0: number | null = null;
		let m0: ServerMetrics | null = null;
		for (let r = 0; r < rounds + 1; r++) {
			// Round 0 warms the server's paths (first fold, first evaluation) and is not counted.
			if (r === 1) {
				m0 = await readMetrics(server);
				cpu0 = m0.cpuSeconds;
			}
			const first = await participants[0].nextTask();
			const taskAt = performance.now();
			const tasks: RoundTask[] = [first, ...(await Promise.all(participants.slice(1).map((p) => p.nextTask())))];
			const prepared: PreparedUpdate[] = participants.map((p, i) => {
				payloads[i][16] = r & 0xff;
				const u = p.prepare(tasks[i], payloads[i], { numSamples: 100, steps: 10, trainLoss: 1, trainAccuracy: 0.5, trainMs: 1 });
				if (r > 0) clientSignMs.push(u.signMs);
				return u;
			});
			const t0 = performance.now();
			await Promise.all(participants.map((p, i) => p.send(prepared[i])));
			const up = performance.now() - t0;
			await Promise.all(participants.map((p) => p.nextClosed()));
			const wall = performance.now() - taskAt;
			if (r > 0) {
				uploadMs.push(up);
				roundWallMs.push(wall);
			}
			log(`rounds ${selected}: round ${r}${r === 0 ? ' (warm-up)' : ''}: upload ${up.toFixed(0)} ms (${((selected / up) * 1000).toFixed(0)} upd/s), round ${wall.toFixed(0)} ms`);
		}
		const m1 = await readMetrics(server);
		const cpu = m1.cpuSeconds !== null && cpu0 !== null ? m1.cpuSeconds - cpu0 : null;
		const serverRoundMs =
			m0 && m1.roundSecondsSum !== null && m0.roundSecondsSum !== null && m1.roundCount !== null && m0.roundCount !== null && m1.roundCount > m0.roundCount
				? Math.round(((m1.roundSecondsSum - m0.roundSecondsSum) / (m1.roundCount - m0.roundCount)) * 1000)
				: null;
		return {
			selected,
			rounds,
			joinMs,
			roundWallMs,
			serverRoundMs,
			uploadMs,
			updatesPerS: uploadMs.map((ms) => selected / (ms / 1000)),
			serverCpuSecondsPerRound: cpu === null ? null : Math.round((cpu / rounds) * 100) / 100,
			serverCpuMsPerUpdate: cpu === null ? null : Math.round(((cpu * 1000) / (rounds * selected)) * 100) / 100,
			peakRssMb: server.peakRssMb(),
			rssBeforeRoundsMb,
			clientSignMs
		};
	} finally {
		for (const p of participants) p.close();
		await server.stop();
	}
}

/**
 * What one server process holds: connected, logged-in but idle participants (memory per
 * socket, login rate), and rounds in which 250 / 500 Node participants all send a signed
 * MLP-size update (synthetic, no training).
 */
export const capacity: Section = async (ctx) => {
	const idleSteps = ctx.quick ? [50, 100] : [500, 1_000, 2_000];
	const roundSizes = ctx.quick ? [20, 50] : [250, 500];
	const rounds = ctx.quick ? 1 : 3;

	const idle = await idleSockets(idleSteps, ctx.log);
	const perRound: RoundsResult[] = [];
	for (const s of roundSizes) perRound.push(await selectedRounds(s, rounds, ctx.log));

	const rows: TableRow[] = [];
	for (const s of idle.steps) {
		rows.push({
			figure: `${s.sockets} idle logged-in sockets: server RSS / heap used`,
			value: `${s.rssMb} MB (${s.kbPerSocketRss} KB/socket) / ${s.heapUsedMb} MB (${s.kbPerSocketHeap} KB/socket)`,
			baseline: `no participants ${idle.baseline.rssMb} MB / ${idle.baseline.heapUsedMb} MB`,
			ratio: s.rssMb && idle.baseline.rssMb ? Math.round((s.rssMb / idle.baseline.rssMb) * 100) / 100 : null
		});
	}
	rows.push({
		figure: 'idle socket, marginal memory (least-squares slope over the steps)',
		value: `RSS ${idle.slope.kbPerSocketRss} KB/socket, heap ${idle.slope.kbPerSocketHeap} KB/socket`,
		baseline: '',
		ratio: null
	});
	rows.push({
		figure: 'login rate (challenge + ML-DSA-65 login, 32 in flight)',
		value: idle.steps.map((s) => `${s.loginsPerS}`).join(' / ') + ' logins/s',
		baseline: '',
		ratio: null
	});
	for (const r of perRound) {
		const wall = summarize(r.roundWallMs);
		rows.push({
			figure: `${r.selected} selected Node participants, MLP update: round wall (task to closed) / server round`,
			value: `${fmtSummary(wall, 'ms', 0)} / ${r.serverRoundMs ?? '?'} ms`,
			baseline: `upload phase ${fmtSummary(summarize(r.uploadMs), 'ms', 0)}`,
			ratio: null
		});
		rows.push({
			figure: `${r.selected} selected: updates/s, server CPU per update, peak RSS`,
			value: `${fmtSummary(summarize(r.updatesPerS), 'upd/s', 0)}, ${r.serverCpuMsPerUpdate ?? '?'} ms CPU/update (${r.serverCpuSecondsPerRound ?? '?'} s/round), ${r.peakRssMb ?? '?'} MB`,
			baseline: '',
			ratio: null
		});
	}
	const mlp = parameterCount(MODEL_SPECS.mlp);
	return {
		section: 'capacity',
		method:
			`One qflare-server.ts child (embedded store, temp dir) per part. Idle: ${idleSteps.join(', ')} socket.io-client participants in the bench process ` +
			'join with the project join token (ML-DSA-65 keypair, auth:challenge, signed auth:login; 32 in flight) and stay idle (project not started); ' +
			'after each step and 3 s of settling the server RSS (/proc VmRSS) and V8 heap used (/metrics qflare_nodejs_heap_size_used_bytes) are read, ' +
			'per socket = (value - value with no participants) / sockets. Rounds: a fresh server, S participants join and report ready, project mlp with ' +
			`minParticipants = S and fraction 1; each round every participant hashes and signs a synthetic MLP update (${mlp} f32 values), all are released ` +
			`together; round wall = first round:task to every round:closed; ${rounds} rounds after one warm-up round; server CPU from /metrics qflare_process_cpu_seconds_total.`,
		rows,
		notMeasured: [
			'Several instances: not implemented yet, so the multi-instance figures in README are a model, not a measurement',
			'MongoDB and Redis: none runs on this machine; the embedded store was used',
			'Clients and server share the 2 cores: the bench process signing and sending for all participants competes with the server',
			'More than the largest idle step: every login lists the project\'s devices for the dashboard (store.devices.listByProject), so a login costs server CPU in proportion to the devices already registered and the join rate falls as N grows'
		],
		data: { mlpParameters: mlp, idle, rounds: perRound.map((r) => ({ ...r, roundWall: summarize(r.roundWallMs), upload: summarize(r.uploadMs), updatesPerSecond: summarize(r.updatesPerS), clientSign: summarize(r.clientSignMs), clientSignMs: undefined })) }
	};
};
