import { generateDeviceKeypair, type DeviceKeypair } from '@qflare/pq';
import {
	decodeWeights,
	encodeWeights,
	PARTICIPANT_NAMESPACE,
	type ErrorReply,
	type Project,
	type Round,
	type RoundTask
} from '@qflare/protocol';
import { io } from 'socket.io-client';
import { epsilonAfterRounds } from '@qflare/fl';
import { flattenWeights } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedParticipant } from './test-support/scripted-participant';
import { startTestServer, type TestServer } from './test-support/test-server';

describe('aggregator over real sockets and the embedded store', () => {
	let server: TestServer;

	/** One join token per project made here, for the participants that join it. */
	const tokens = new Map<string, string>();

	beforeAll(async () => {
		server = await startTestServer('server-test');
	});
	afterAll(() => server?.close());

	/** A project of the owner's organisation with a join token for its participants. */
	async function createProject(config: Record<string, unknown>): Promise<Project> {
		const project = await server.createProject(config);
		tokens.set(project.id, await server.joinToken(project.id));
		return project;
	}
	/** A participant that registers with its project's token; `keys` of another makes it that device again. */
	const participant = (keys?: DeviceKeypair) => new ScriptedParticipant(server.url, { keys, joinToken: (id) => tokens.get(id) });
	/** Binary downloads and /metrics, as the owner. */
	const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.ownerKey}` } });

	it('rejects invalid project configs with a code and creates none', async () => {
		const create = `/orgs/${server.organisationId}/projects`;
		const bad = await server.api<ErrorReply>('POST', create, { name: 'x', model: 'resnet' });
		expect(bad.status).toBe(400);
		expect(bad.json.code).toBe('SCHEMA_INVALID');
		const notJson = await fetch(`${server.url}/api/v1${create}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${server.ownerKey}` },
			body: '{'
		});
		expect(notJson.status).toBe(400);
		expect((await server.api<Project[]>('GET', '/projects')).json).toEqual([]);
		expect((await server.api<ErrorReply>('GET', '/projects/nope')).status).toBe(404);
	});

	it('folds signed updates by sample count and rejects unsigned, forged, replayed, wrong-round and malformed ones', async () => {
		const project = await createProject({ name: 'exact', rounds: 1, minParticipants: 2, shardCount: 2, roundTimeoutSec: 60 });
		const [a, b, m, n, u] = [0, 1, 2, 3, 4].map(() => participant());
		for (const p of [a, b, m, n, u]) await p.login(project.id);

		// Garbage from anyone must not crash the server or change anything.
		const stranger = io(`${server.url}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
		expect(await stranger.timeout(5000).emitWithAck('round:update', { roundId: 'x' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
		expect(await stranger.timeout(5000).emitWithAck('auth:login', null)).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		expect(await stranger.timeout(5000).emitWithAck('auth:challenge', { projectId: project.id, publicKey: 'AAAA', kind: 'node' })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		stranger.emit('round:update', 42);
		stranger.emit('device:status');
		stranger.close();

		expect((await server.api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const [taskA, taskB, taskM, taskN, taskU] = await Promise.all([a.task, b.task, m.task, n.task, u.task]);
		const global = decodeWeights(new Uint8Array(taskA.weights as ArrayBuffer)).values;
		const length = global.length;
		expect(length).toBe(199_210);

		// u sends an unsigned update, then one that fails the schema: it is out of the round after the first.
		const { signature: _drop, ...unsigned } = u.envelope(taskU, new Float32Array(length), 100);
		expect(await u.send(unsigned)).toMatchObject({ ok: false, code: 'UNSIGNED' });
		expect(await u.send({ ...u.envelope(taskU, new Float32Array(length), 100), payload: 'AAAA' })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		expect(await u.send({ ...u.envelope(taskU, new Float32Array(length), 100), trainLoss: NaN })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		expect(await m.send(m.envelope(taskM, new Float32Array(length), 100, { roundId: 'another-round' }))).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
		const tampered = m.envelope(taskM, new Float32Array(length), 100);
		tampered.payload = encodeWeights(new Float32Array(length).fill(9));
		expect(await m.send(tampered)).toMatchObject({ ok: false, code: 'HASH_MISMATCH' });

		const deltaA = new Float32Array(length).fill(0.01);
		const envelopeA = a.envelope(taskA, deltaA, 100);
		expect(await a.send(envelopeA)).toMatchObject({ ok: true, accepted: 1, duplicate: false });
		expect(await a.send(envelopeA)).toMatchObject({ ok: true, duplicate: true });
		expect(await a.send(a.envelope(taskA, new Float32Array(length).fill(0.5), 100))).toMatchObject({ ok: false, code: 'REPLAY' });
		expect(await m.send(envelopeA)).toMatchObject({ ok: false, code: 'REPLAY' });

		expect(await n.send(n.envelope(taskN, new Float32Array(length).fill(1), 100, { signWith: generateDeviceKeypair() }))).toMatchObject({
			ok: false,
			code: 'BAD_SIGNATURE'
		});
		const nanDelta = new Float32Array(length);
		nanDelta[7] = NaN;
		// m already had a hash mismatch, so it is out of the round; its later updates are refused.
		expect(await m.send(m.envelope(taskM, nanDelta, 100))).toMatchObject({ ok: false, code: 'ROUND_CLOSED' });

		const roundBefore = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json[0];
		expect(roundBefore.status).toBe('training');
		expect(roundBefore.accepted).toEqual([a.deviceId]);

		const deltaB = new Float32Array(length).fill(-0.02);
		expect(await b.send(b.envelope(taskB, deltaB, 300))).toMatchObject({ ok: true, accepted: 2 });

		const deadline = Date.now() + 30_000;
		let round: Round | undefined;
		while (Date.now() < deadline) {
			round = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json[0];
			if (round.status === 'committed' || round.status === 'failed') break;
			await new Promise((r) => setTimeout(r, 100));
		}
		expect(round?.status).toBe('committed');
		expect(round?.accepted.sort()).toEqual([a.deviceId, b.deviceId].sort());
		expect(round?.totalSamples).toBe(400);
		expect(round?.metrics.testAccuracy).toBeGreaterThanOrEqual(0);
		expect(round?.metrics.trainLoss).toBeCloseTo(0.5, 10);

		// v1 = v0 + (100 * 0.01 + 300 * -0.02) / 400 = v0 - 0.0125 in every coordinate.
		const res = await get(`/api/v1/projects/${project.id}/models/1/weights.bin`);
		const v1 = new Float32Array(await res.arrayBuffer());
		expect(v1.length).toBe(length);
		for (const i of [0, 1, 1000, length - 1]) expect(v1[i]).toBeCloseTo(global[i] - 0.0125, 6);

		// The download is the tfjs layers format: tfjs itself loads it, with exactly the committed weights.
		const { tf } = await initNodeTf();
		const loaded = await tf.loadLayersModel(`${server.url}/api/v1/projects/${project.id}/models/latest/model.json`, {
			requestInit: { headers: { authorization: `Bearer ${server.ownerKey}` } }
		});
		expect(loaded.countParams()).toBe(length);
		expect(Array.from(flattenWeights(loaded).subarray(0, 1000))).toEqual(Array.from(v1.subarray(0, 1000)));
		loaded.dispose();

		const updates = await server.store.updates.listByRound(round!.id);
		expect(updates.map((u) => u.deviceId).sort()).toEqual([a.deviceId, b.deviceId].sort());
		const project2 = (await server.api<Project>('GET', `/projects/${project.id}`)).json;
		expect(project2).toMatchObject({ status: 'completed', modelVersion: 1 });
		for (const p of [a, b, m, n, u]) p.socket.close();
		expect((await fetch(`${server.url}/health`)).ok).toBe(true);
		const metrics = await (await get('/metrics')).text();
		expect(metrics).toMatch(/^qflare_updates_total\{outcome="BAD_SIGNATURE",instance="[^"]+"\} 1$/m);
		expect(metrics).toMatch(/^qflare_updates_total\{outcome="UNSIGNED",instance="[^"]+"\} 1$/m);
		expect(metrics).toMatch(/^qflare_rounds_total\{status="committed",instance="[^"]+"\} [1-9]/m);
		// Every update's payload was counted where it arrived: at least the two accepted ones.
		const bytes = Number(/^qflare_update_bytes_total\{instance="[^"]+"\} (\d+)$/m.exec(metrics)?.[1]);
		expect(bytes).toBeGreaterThanOrEqual(2 * length * 4);
	});

	async function runOneRound(
		config: Record<string, unknown>,
		plan: (tasks: RoundTask[], clients: ScriptedParticipant[], length: number) => Promise<void>,
		clientCount: number
	): Promise<{ project: Project; round: Round; global: Float32Array; v1: Float32Array }> {
		const project = await createProject({ name: 'strategy', rounds: 1, roundTimeoutSec: 60, ...config });
		const clients = Array.from({ length: clientCount }, () => participant());
		for (const c of clients) await c.login(project.id);
		await server.api('POST', `/projects/${project.id}/start`);
		const tasks = await Promise.all(clients.map((c) => c.task));
		const global = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values;
		await plan(tasks, clients, global.length);
		let round: Round | undefined;
		for (const stop = Date.now() + 30_000; Date.now() < stop; await new Promise((r) => setTimeout(r, 100))) {
			round = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json[0];
			if (round.status === 'committed' || round.status === 'failed') break;
		}
		for (const c of clients) c.socket.close();
		const v1 = new Float32Array(await (await get(`/api/v1/projects/${project.id}/models/1/weights.bin`)).arrayBuffer());
		return { project, round: round!, global, v1 };
	}

	it('records every accepted device when updates arrive at the same moment', async () => {
		const { round } = await runOneRound(
			{ minParticipants: 3, shardCount: 3 },
			async (tasks, clients, length) => {
				const replies = await Promise.all(
					clients.map((c, i) => c.send(c.envelope(tasks[i], new Float32Array(length).fill(0.001 * (i + 1)), 100 * (i + 1))))
				);
				for (const r of replies) expect(r).toMatchObject({ ok: true });
			},
			3
		);
		expect(round.status).toBe('committed');
		expect(round.accepted).toHaveLength(3);
		expect(round.totalSamples).toBe(600);
	});

	it('completes a DP-FedAvg project before a round would spend more than the target epsilon', async () => {
		// One round at q = 1, z = 1.1 spends epsilon 4.2413 at delta 1e-5 (the classic conversion
		// says 4.7819); two spend 6.3274. A target of 4.5 lets one round through only if the budget
		// is checked against the tight value: on the classic one no round would start.
		const oneRound = epsilonAfterRounds([{ sampleRate: 1, noiseMultiplier: 1.1 }], 1e-5);
		expect(oneRound).toMatchObject({ epsilon: expect.closeTo(4.2413, 4), epsilonClassic: expect.closeTo(4.7819, 4) });
		expect(epsilonAfterRounds([{ sampleRate: 1, noiseMultiplier: 1.1 }, { sampleRate: 1, noiseMultiplier: 1.1 }], 1e-5).epsilon).toBeCloseTo(6.3274, 4);
		const target = 4.5;
		const project = await createProject({
			name: 'budget',
			rounds: 5,
			minParticipants: 2,
			shardCount: 2,
			roundTimeoutSec: 60,
			strategy: { name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1.1, targetEpsilon: target }
		});
		const clients = [0, 1].map(() => participant());
		for (const c of clients) await c.login(project.id);
		await server.api('POST', `/projects/${project.id}/start`);
		const tasks = await Promise.all(clients.map((c) => c.task));
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		for (let i = 0; i < 2; i++) {
			expect(await clients[i].send(clients[i].envelope(tasks[i], new Float32Array(length).fill(0.0001 * (i + 1)), 100))).toMatchObject({ ok: true });
		}
		let rounds: Round[] = [];
		for (const stop = Date.now() + 30_000; Date.now() < stop; await new Promise((r) => setTimeout(r, 100))) {
			rounds = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json;
			if ((await server.api<Project>('GET', `/projects/${project.id}`)).json.status === 'completed') break;
		}
		for (const c of clients) c.socket.close();
		expect((await server.api<Project>('GET', `/projects/${project.id}`)).json).toMatchObject({ status: 'completed', modelVersion: 1 });
		expect(rounds.map((r) => r.status)).toEqual(['committed', 'failed']);
		expect(rounds[0].privacy?.epsilon).toBeCloseTo(oneRound.epsilon, 9);
		expect(rounds[0].privacy?.epsilonClassic).toBeCloseTo(oneRound.epsilonClassic, 9);
		expect(rounds[1].failureReason).toMatch(/would spend epsilon 6\.327 > target 4\.5 .*classic conversion 7\.008/);
	});

	it('sends the running round to a device that reconnects with the same key, and takes its update', async () => {
		const project = await createProject({ name: 'rejoin', rounds: 1, minParticipants: 2, shardCount: 2, roundTimeoutSec: 60 });
		const a = participant();
		const b = participant();
		for (const c of [a, b]) await c.login(project.id);
		await server.api('POST', `/projects/${project.id}/start`);
		const [taskA, firstTaskB] = await Promise.all([a.task, b.task]);
		b.socket.close();
		const reloaded = participant(b.keys);
		await reloaded.login(project.id);
		expect(reloaded.deviceId).toBe(b.deviceId);
		const taskB = await reloaded.task;
		expect(taskB.roundId).toBe(firstTaskB.roundId);
		const length = decodeWeights(new Uint8Array(taskA.weights as ArrayBuffer)).values.length;
		expect(await a.send(a.envelope(taskA, new Float32Array(length).fill(0.001), 100))).toMatchObject({ ok: true });
		expect(await reloaded.send(reloaded.envelope(taskB, new Float32Array(length).fill(0.002), 100))).toMatchObject({ ok: true });
		let round: Round | undefined;
		for (const stop = Date.now() + 30_000; Date.now() < stop; await new Promise((r) => setTimeout(r, 100))) {
			round = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json[0];
			if (round.status === 'committed') break;
		}
		for (const c of [a, reloaded]) c.socket.close();
		expect(round?.status).toBe('committed');
		expect(round?.accepted.sort()).toEqual([a.deviceId, b.deviceId].sort());
		expect((await server.store.devices.listByProject(project.id)).map((d) => d.id).sort()).toEqual([a.deviceId, b.deviceId].sort());
	});

	it('stops waiting for a selected device that goes offline mid-round and stays away', async () => {
		const started = Date.now();
		const { round } = await runOneRound(
			{ minParticipants: 2, shardCount: 3, roundTimeoutSec: 60 },
			async (tasks, clients, length) => {
				clients[2].socket.close();
				for (let i = 0; i < 2; i++) {
					expect(await clients[i].send(clients[i].envelope(tasks[i], new Float32Array(length).fill(0.001 * (i + 1)), 100))).toMatchObject({ ok: true });
				}
			},
			3
		);
		expect(round.status).toBe('committed');
		expect(round.selected).toHaveLength(3);
		expect(round.accepted).toHaveLength(2);
		// Well before the 60 s deadline: the dropout counted as answered after the grace period.
		expect(Date.now() - started).toBeLessThan(20_000);
	});

	it('aggregates with the coordinate-wise median, which a client scaled by 1e3 does not move', async () => {
		const { round, global, v1 } = await runOneRound(
			{ strategy: { name: 'median' }, minParticipants: 4, shardCount: 4 },
			async (tasks, clients, length) => {
				const values = [0.01, 0.02, 0.03, 1000];
				for (let i = 0; i < 4; i++) {
					expect(await clients[i].send(clients[i].envelope(tasks[i], new Float32Array(length).fill(values[i]), 100))).toMatchObject({ ok: true });
				}
			},
			4
		);
		expect(round.status).toBe('committed');
		for (const i of [0, 5, 199_209]) expect(v1[i]).toBeCloseTo(global[i] + 0.025, 6);
	});

	it('rejects an update above the norm bound with NORM_TOO_LARGE and lowers that device\'s trust', async () => {
		let attackerId = '';
		const { project, round } = await runOneRound(
			{ minParticipants: 2, shardCount: 3, screening: { maxUpdateNorm: 10, normPolicy: 'reject' } },
			async (tasks, clients, length) => {
				attackerId = clients[2].deviceId;
				expect(await clients[2].send(clients[2].envelope(tasks[2], new Float32Array(length).fill(1), 100))).toMatchObject({
					ok: false,
					code: 'NORM_TOO_LARGE'
				});
				for (let i = 0; i < 2; i++) {
					expect(await clients[i].send(clients[i].envelope(tasks[i], new Float32Array(length).fill(0.001 * (i + 1)), 100))).toMatchObject({ ok: true });
				}
			},
			3
		);
		expect(round.status).toBe('committed');
		expect(round.accepted).not.toContain(attackerId);
		const devices = await server.store.devices.listByProject(project.id);
		const attacker = devices.find((d) => d.id === attackerId)!;
		const honest = devices.find((d) => d.id !== attackerId)!;
		expect(attacker.trust).toMatchObject({ accepted: 0, rejected: 1 });
		expect(honest.trust).toMatchObject({ accepted: 1, rejected: 0 });
		expect(attacker.trust.score).toBeLessThan(honest.trust.score);
	});

	it('records the privacy spent by a DP-FedAvg round with the RDP accountant', async () => {
		const { round, global, v1 } = await runOneRound(
			{ minParticipants: 2, shardCount: 2, strategy: { name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1.1 } },
			async (tasks, clients, length) => {
				for (let i = 0; i < 2; i++) {
					expect(await clients[i].send(clients[i].envelope(tasks[i], new Float32Array(length).fill(0.0001 * (i + 1)), 100))).toMatchObject({ ok: true });
				}
			},
			2
		);
		expect(round.status).toBe('committed');
		// 4.2413 by Canonne-Kamath-Steinke (reported), 4.7819 by the classic conversion.
		expect(round.privacy).toEqual({
			epsilon: expect.closeTo(4.2413, 4),
			epsilonClassic: expect.closeTo(4.7819, 4),
			delta: 1e-5,
			noiseMultiplier: 1.1,
			sampleRate: 1
		});
		const { epsilon, epsilonClassic } = epsilonAfterRounds([{ sampleRate: 1, noiseMultiplier: 1.1 }], 1e-5);
		expect(round.privacy).toMatchObject({ epsilon, epsilonClassic });
		// Gaussian noise of std z*C/n = 0.55 per coordinate lands on the model.
		let moved = 0;
		for (let i = 0; i < 1000; i++) moved += Math.abs(v1[i] - global[i]);
		expect(moved / 1000).toBeGreaterThan(0.2);
	});
});
