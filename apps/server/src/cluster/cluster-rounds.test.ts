import { createStrategy, type StrategyConfig } from '@qflare/fl';
import { CLUSTER_NAMESPACE, decodeWeights, encodeWeights, type Project, type Round, type RoundTask } from '@qflare/protocol';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectOutcome } from '../test-support/connect-outcome';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { startRedisServer, type RedisServer } from '../test-support/redis-server';
import { startTestCluster, type TestServer } from '../test-support/test-server';

/** A delta every device makes differently, so weights and order matter. */
function deltaOf(length: number, k: number): Float32Array {
	const d = new Float32Array(length);
	for (let i = 0; i < length; i++) d[i] = Math.sin(i * 0.37 + k) * 0.01 * (k + 1);
	return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scripted device that keeps every task it is sent (tasks reach it from whichever instance leads). */
class Device {
	readonly tasks: RoundTask[] = [];
	readonly participant: ScriptedParticipant;
	constructor(url: string, token: string) {
		this.participant = new ScriptedParticipant(url, { joinToken: token });
		this.participant.socket.on('round:task', (t: RoundTask) => this.tasks.push(t));
	}
	async taskOf(round: number): Promise<RoundTask> {
		const deadline = Date.now() + 15_000;
		for (;;) {
			const task = this.tasks.find((t) => t.roundNumber === round);
			if (task) return task;
			if (Date.now() > deadline) throw new Error(`no task of round ${round} for ${this.participant.deviceId}`);
			await sleep(20);
		}
	}
}

async function waitForRound(server: TestServer, projectId: string, number: number, done: (r: Round) => boolean, logs: () => string): Promise<Round> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const round = (await server.api<Round[]>('GET', `/projects/${projectId}/rounds`)).json.find((r) => r.number === number);
		if (round && done(round)) return round;
		if (Date.now() > deadline) throw new Error(`round ${number} not there in time: ${JSON.stringify(round)}\n${logs()}`);
		await sleep(50);
	}
}

const SAMPLES = [100, 250, 40, 610, 75, 300];

describe('several instances over one Redis and one store', () => {
	let redis: RedisServer;
	let cluster: TestServer[] = [];
	let devices: Device[] = [];
	const logs = () => cluster.map((s, i) => `--- instance ${i}\n${s.logs.join('\n')}`).join('\n');

	beforeAll(async () => {
		redis = await startRedisServer();
	});
	afterAll(async () => {
		await redis?.stop();
	});
	afterEach(async () => {
		for (const d of devices) d.participant.socket.close();
		devices = [];
		for (const s of cluster) await s.close().catch(() => undefined);
		cluster = [];
	});

	async function setUp(name: string, config: Record<string, unknown>, count: number): Promise<Project> {
		cluster = await startTestCluster(name, 3, { redisUrl: redis.url, leaseMs: 1_500, dropoutGraceMs: 300 });
		const project = await cluster[0].createProject(config);
		const token = await cluster[0].joinToken(project.id);
		// Device k logs in on instance k % 3.
		devices = Array.from({ length: count }, (_, k) => new Device(cluster[k % 3].url, token));
		for (const d of devices) await d.participant.login(project.id);
		return project;
	}

	const strategies: StrategyConfig[] = [{ name: 'fedavg' }, { name: 'fedadam', serverLearningRate: 0.1 }, { name: 'median' }];
	it.each(strategies)('$name: each instance folds its own devices, the leader merges them, and the model is what one instance makes', async (strategy) => {
		const project = await setUp(`cluster-${strategy.name}`, { name: 'merge', rounds: 1, minParticipants: 6, shardCount: 6, roundTimeoutSec: 60, strategy }, 6);
		// Started on instance 1: it takes the lease and leads.
		expect((await cluster[1].api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		expect(cluster[1].server.coordinator).toBeDefined();
		const tasks = await Promise.all(devices.map((d) => d.taskOf(1)));
		const global = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values;
		const envelopes = devices.map((d, k) => d.participant.envelope(tasks[k], deltaOf(global.length, k), SAMPLES[k]));
		for (const [k, d] of devices.entries()) expect(await d.participant.send(envelopes[k])).toMatchObject({ ok: true, duplicate: false });

		const round = await waitForRound(cluster[2], project.id, 1, (r) => r.status === 'committed' || r.status === 'failed', logs);
		expect(round.status, logs()).toBe('committed');
		expect(round.accepted.sort()).toEqual(devices.map((d) => d.participant.deviceId).sort());
		expect(round.totalSamples).toBe(SAMPLES.reduce((a, b) => a + b, 0));

		const expected = createStrategy(strategy, global.length);
		for (const [k, e] of envelopes.entries()) expected.add({ delta: decodeWeights(encodeWeights(deltaOf(global.length, k))).values, numSamples: SAMPLES[k], steps: e.steps });
		const want = expected.finish(global);
		const got = (await cluster[0].store.models.loadWeights(project.id, 1))!;
		let worst = 0;
		for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
		// Float64 partial sums added in another order: equal to float32 rounding.
		expect(worst).toBeLessThanOrEqual(1e-7);

		const leaderLog = cluster[1].logs.join('\n');
		if (strategy.name === 'median') {
			// Keeps every update: the other instances' four come from the store.
			expect(leaderLog).toContain('4 stored updates folded at the close');
		} else {
			expect(leaderLog.match(/: merged/g)?.length, leaderLog).toBe(2);
			expect(leaderLog).not.toContain('stored updates folded at the close');
		}
		// Only the leader led; the others only folded.
		expect(cluster[0].logs.join('\n')).not.toMatch(/committed/);
	});

	it('the leader goes away mid-round: another instance takes the lease, finishes the round from what is durable and runs the next', async () => {
		const project = await setUp('cluster-failover', { name: 'failover', rounds: 2, minParticipants: 4, shardCount: 6, roundTimeoutSec: 60 }, 6);
		expect((await cluster[0].api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const tasks = await Promise.all(devices.map((d) => d.taskOf(1)));
		const global = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values;
		const envelopes = devices.map((d, k) => d.participant.envelope(tasks[k], deltaOf(global.length, k), SAMPLES[k]));
		// Devices 0 and 3 are on the leader (instance 0); 3 never sends before it goes.
		for (const k of [0, 1, 2, 4, 5]) expect(await devices[k].participant.send(envelopes[k])).toMatchObject({ ok: true });

		const leader = cluster[0];
		await leader.close();
		const survivors = cluster.slice(1);
		const round = await waitForRound(survivors[0], project.id, 1, (r) => r.status === 'committed' || r.status === 'failed', logs);
		expect(round.status, logs()).toBe('committed');
		expect(round.accepted.sort()).toEqual([0, 1, 2, 4, 5].map((k) => devices[k].participant.deviceId).sort());
		const successor = survivors.find((s) => s.logs.some((l) => l.startsWith(`leading project ${project.id}`)));
		expect(successor, logs()).toBeDefined();
		const resumed = await survivors[0].store.events.listRecent(project.id, { type: 'round.resumed' });
		expect(resumed.map((e) => e.message)).toEqual([expect.stringContaining('round 1 resumed after a restart: 5 durable updates folded again, 1 devices still asked')]);

		const expected = createStrategy({ name: 'fedavg' }, global.length);
		for (const k of [0, 1, 2, 4, 5]) expected.add({ delta: decodeWeights(encodeWeights(deltaOf(global.length, k))).values, numSamples: SAMPLES[k] });
		const want = expected.finish(global);
		const got = (await survivors[0].store.models.loadWeights(project.id, 1))!;
		let worst = 0;
		for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
		expect(worst).toBeLessThanOrEqual(1e-7);

		// Round 2 runs on the new leader with the four devices still connected.
		const online = [1, 2, 4, 5].map((k) => devices[k]);
		const next = await Promise.all(online.map((d) => d.taskOf(2)));
		for (const [i, d] of online.entries()) expect(await d.participant.send(d.participant.envelope(next[i], deltaOf(global.length, 10 + i), 50))).toMatchObject({ ok: true });
		const second = await waitForRound(survivors[1], project.id, 2, (r) => r.status === 'committed' || r.status === 'failed', logs);
		expect(second).toMatchObject({ status: 'committed', baseModelVersion: 1, resultModelVersion: 2 });
		expect((await survivors[0].store.models.list(project.id)).map((m) => m.version).sort()).toEqual([0, 1, 2]);
	});
	it('start and stop sent to an instance that does not lead are carried out by the leader; a stopped project has no leader', async () => {
		const project = await setUp('cluster-commands', { name: 'commands', rounds: 3, minParticipants: 3, shardCount: 3, roundTimeoutSec: 60 }, 3);
		expect((await cluster[0].api<Project>('POST', `/projects/${project.id}/start`)).json).toMatchObject({ status: 'running' });
		await Promise.all(devices.map((d) => d.taskOf(1)));
		expect(cluster[0].server.coordinator.activeRounds).toBe(1);
		// Instance 2 does not lead: its start is answered by the leader (already running), its stop carried out there.
		expect((await cluster[2].api<Project>('POST', `/projects/${project.id}/start`)).json).toMatchObject({ status: 'running' });
		expect(cluster[1].server.coordinator.activeRounds + cluster[2].server.coordinator.activeRounds).toBe(0);
		const stopped = await cluster[2].api<Project>('POST', `/projects/${project.id}/stop`);
		expect(stopped.status).toBe(200);
		expect(stopped.json).toMatchObject({ status: 'stopped' });
		const round = await waitForRound(cluster[1], project.id, 1, (r) => r.status === 'failed', logs);
		expect(round.failureReason).toBe('stopped by the coordinator');
		expect(cluster[0].server.coordinator.activeRounds).toBe(0);
		for (const s of cluster) expect((await fetch(`${s.url}/health`).then((r) => r.json())) as { leads: string[] }).toMatchObject({ leads: [] });
	});
	it('refuses to start a secure-aggregation project: its exchange lives in one instance', async () => {
		const project = await setUp(
			'cluster-secure',
			{ name: 'secure', rounds: 1, minParticipants: 3, shardCount: 3, roundTimeoutSec: 60, secureAggregation: { clip: 1, maxSamplesPerClient: 1000, degree: null } },
			3
		);
		const started = await cluster[1].api<{ code: string; message: string }>('POST', `/projects/${project.id}/start`);
		expect(started.status).toBe(409);
		expect(started.json.message).toMatch(/secure aggregation runs on a single instance/);
		expect((await cluster[0].api<Project>('GET', `/projects/${project.id}`)).json.status).toBe('idle');
	});

	it('no client may join the namespace the instances talk on', async () => {
		cluster = await startTestCluster('cluster-namespace', 2, { redisUrl: redis.url, leaseMs: 1_500 });
		const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${cluster[0].ownerKey}` }];
		for (const headers of attempts) {
			const socket = io(`${cluster[0].url}${CLUSTER_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
			try {
				expect(await connectOutcome(socket)).toBe('UNAUTHENTICATED');
			} finally {
				socket.close();
			}
		}
	});
});
