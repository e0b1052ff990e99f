import { createStrategy } from '@qflare/fl';
import { decodeWeights, encodeWeights, type Project, type Round, type RoundTask } from '@qflare/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedParticipant } from './test-support/scripted-participant';
import { startTestServer, type TestServer } from './test-support/test-server';

/** A delta every participant makes differently, so the order and weights of the fold matter. */
function deltaOf(length: number, k: number): Float32Array {
	const d = new Float32Array(length);
	for (let i = 0; i < length; i++) d[i] = Math.sin(i * 0.37 + k) * 0.01 * (k + 1);
	return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForRound(server: TestServer, projectId: string, number: number, done: (r: Round) => boolean): Promise<Round> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const round = (await server.api<Round[]>('GET', `/projects/${projectId}/rounds`)).json.find((r) => r.number === number);
		if (round && done(round)) return round;
		if (Date.now() > deadline) throw new Error(`round ${number} not there in time: ${JSON.stringify(round)}\n${server.logs.join('\n')}`);
		await sleep(50);
	}
}

/** A participant that is the same device again after a restart, recording every task it is sent. */
class Device {
	readonly tasks: RoundTask[] = [];
	participant: ScriptedParticipant;
	constructor(
		url: string,
		private readonly token: string,
		keys?: ScriptedParticipant['keys']
	) {
		this.participant = this.#connect(url, keys);
	}
	#connect(url: string, keys?: ScriptedParticipant['keys']): ScriptedParticipant {
		const p = new ScriptedParticipant(url, { keys, joinToken: this.token });
		p.socket.on('round:task', (t: RoundTask) => this.tasks.push(t));
		return p;
	}
	/** A new socket to the restarted server, with the same key (so the same device id). */
	reconnect(url: string): void {
		this.participant.socket.close();
		this.participant = this.#connect(url, this.participant.keys);
	}
	get id(): string {
		return this.participant.deviceId;
	}
}

describe('acknowledged updates survive a crash', () => {
	let server: TestServer | undefined;
	let devices: Device[] = [];
	afterEach(async () => {
		for (const d of devices) d.participant.socket.close();
		devices = [];
		await server?.close();
		server = undefined;
	});

	async function setUp(name: string, config: Record<string, unknown>, count: number): Promise<{ project: Project; tasks: RoundTask[] }> {
		server = await startTestServer(name);
		const project = await server.createProject(config);
		const token = await server.joinToken(project.id);
		devices = Array.from({ length: count }, () => new Device(server!.url, token));
		for (const d of devices) await d.participant.login(project.id);
		expect((await server.api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const tasks = await Promise.all(devices.map((d) => d.participant.task));
		return { project, tasks };
	}

	// FedAvg rebuilds its accumulator from the payloads; the median rebuilds the list of updates it holds.
	it.each(['fedavg', 'median'])('%s: rebuilds the round from the stored payloads, asks only the devices without an ack, and commits the same model as without the crash', async (strategy) => {
		const { project, tasks } = await setUp(
			'durability',
			{ name: 'crash mid-round', rounds: 1, minParticipants: 4, shardCount: 4, roundTimeoutSec: 60, strategy: { name: strategy } },
			4
		);
		const roundId = tasks[0].roundId;
		const global = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values;
		const samples = [100, 250, 40, 610];
		const envelopes = devices.map((d, k) => d.participant.envelope(tasks[k], deltaOf(global.length, k), samples[k]));

		for (const k of [0, 1]) expect(await devices[k].participant.send(envelopes[k])).toMatchObject({ ok: true, duplicate: false });
		// Acked means stored: the payload byte for byte, and the record.
		const stored = await server!.store.updates.loadPayload(roundId, devices[1].id);
		expect(Buffer.from(stored!.bytes).equals(Buffer.from(envelopes[1].payload))).toBe(true);

		server = await server!.restart();
		for (const d of devices) d.reconnect(server.url);
		const before = devices.map((d) => d.tasks.length);
		// The acknowledged devices log in first: their turn in the project's queue comes before the others' tasks.
		for (const d of devices) await d.participant.login(project.id);
		await Promise.all([devices[2].participant.task, devices[3].participant.task]);
		await sleep(300);
		expect(devices.map((d, k) => d.tasks.length - before[k])).toEqual([0, 0, 1, 1]);
		expect(devices[2].tasks.at(-1)?.roundId).toBe(roundId);

		const resumed = await waitForRound(server, project.id, 1, (r) => r.status === 'training');
		expect(resumed.accepted.sort()).toEqual([devices[0].id, devices[1].id].sort());
		expect(resumed.totalSamples).toBe(350);
		// A re-send of an acknowledged update (its ack lost to the crash) is still a duplicate, not a replay.
		expect(await devices[0].participant.send(envelopes[0])).toMatchObject({ ok: true, duplicate: true });

		for (const k of [2, 3]) expect(await devices[k].participant.send(envelopes[k])).toMatchObject({ ok: true, duplicate: false });
		const round = await waitForRound(server, project.id, 1, (r) => r.status === 'committed' || r.status === 'failed');
		expect(round.status).toBe('committed');
		expect(round.accepted.sort()).toEqual(devices.map((d) => d.id).sort());
		expect(round.totalSamples).toBe(1000);

		// The uninterrupted run: the same strategy folding the same decoded updates in the same order.
		const expected = createStrategy(project.strategy, global.length);
		for (const [k, e] of envelopes.entries()) expected.add({ delta: decodeWeights(encodeWeights(deltaOf(global.length, k))).values, numSamples: samples[k], steps: e.steps });
		const want = expected.finish(global);
		const got = await server.store.models.loadWeights(project.id, 1);
		expect(got).not.toBeNull();
		expect(Buffer.from(got!.buffer, got!.byteOffset, got!.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);

		// A re-send whose ack was lost is acknowledged again after the round closed, not refused.
		expect(await devices[3].participant.send(envelopes[3])).toMatchObject({ ok: true, duplicate: true, accepted: 4 });
		expect(await devices[3].participant.send(devices[3].participant.envelope(tasks[3], deltaOf(global.length, 9), 5))).toMatchObject({ ok: false, code: 'ROUND_CLOSED' });

		// The payloads go once the round ended; the records stay.
		expect(await server.store.updates.listWithPayloads(roundId)).toEqual([]);
		expect(await server.store.updates.countByRound(roundId)).toBe(4);
		expect(round.failureReason).toBeNull();
	});

	it('a crash after model v1 was saved commits that model once; a crash right after the commit moves on from v1', async () => {
		const { project, tasks } = await setUp(
			'durability-commit',
			{ name: 'crash while committing', rounds: 2, minParticipants: 2, shardCount: 3, roundTimeoutSec: 60, strategy: { name: 'median' } },
			3
		);
		const round1 = tasks[0].roundId;
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		// Two of three answer: the round waits for the third, and the crash finds it training.
		for (const k of [0, 1]) expect(await devices[k].participant.send(devices[k].participant.envelope(tasks[k], deltaOf(length, k), 100))).toMatchObject({ ok: true });

		// What the process did before dying: marked the round aggregating and saved v1, not the commit.
		const store = server!.store;
		expect(await store.rounds.transition(round1, 'training', 'aggregating')).not.toBeNull();
		const saved = await store.models.saveModel({ projectId: project.id, version: 1, roundNumber: 1, testAccuracy: 0.5, testLoss: 1 }, new Float32Array(length).fill(0.25));

		server = await server!.restart();
		const first = await waitForRound(server, project.id, 1, (r) => r.status === 'committed' || r.status === 'failed');
		expect(first).toMatchObject({ status: 'committed', resultModelVersion: 1 });
		expect((await server.store.models.get(project.id, 1))?.sha256).toBe(saved.sha256);
		expect(await server.store.updates.listWithPayloads(round1)).toEqual([]);

		// Round 2 trains from v1; a crash right after its commit leaves the project at v1.
		for (const d of devices) d.reconnect(server.url);
		for (const d of devices) await d.participant.login(project.id);
		// Round 2 starts as soon as two devices are ready, with those two, from v1.
		const round2 = await waitForRound(server, project.id, 2, (r) => r.status === 'training');
		const chosen = devices.filter((d) => round2.selected.includes(d.id));
		const tasks2 = await Promise.all(chosen.map((d) => d.participant.task));
		expect(tasks2.map((t) => t.modelVersion)).toEqual(chosen.map(() => 1));
		for (const [k, d] of chosen.entries()) expect(await d.participant.send(d.participant.envelope(tasks2[k], deltaOf(length, k + 3), 100))).toMatchObject({ ok: true });
		await waitForRound(server, project.id, 2, (r) => r.status === 'committed');
		// Let the live server finish its own follow-up writes first (v2, then completed): an
		// in-process stop cannot cut them off the way a crash does, and one landing after the
		// rewind below would race with it.
		for (const stop = Date.now() + 30_000; (await server.store.projects.get(project.id))?.status !== 'completed'; await sleep(50)) {
			if (Date.now() > stop) throw new Error('project did not complete');
		}
		// The crash came after round 2's commit and before the project moved to v2 (and completed).
		server.server.coordinator.close();
		await server.store.projects.update(project.id, { modelVersion: 1, status: 'running' });

		server = await server.restart();
		expect((await server.api<Project>('GET', `/projects/${project.id}`)).json).toMatchObject({ modelVersion: 2, status: 'completed' });

		const models = await server.store.models.list(project.id);
		expect(models.map((m) => m.version)).toEqual([0, 1, 2]);
		const rounds = (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json.sort((a, b) => a.number - b.number);
		expect(rounds.map((r) => [r.number, r.status, r.baseModelVersion, r.resultModelVersion])).toEqual([
			[1, 'committed', 0, 1],
			[2, 'committed', 1, 2]
		]);
	});
	it('an update whose write fails is not acknowledged: its re-send is taken as new, and the model is built from what is stored', async () => {
		const { project, tasks } = await setUp(
			'durability-write-fails',
			{ name: 'store hiccup', rounds: 1, minParticipants: 2, shardCount: 2, roundTimeoutSec: 60 },
			2
		);
		const global = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values;
		const envelopes = devices.map((d, k) => d.participant.envelope(tasks[k], deltaOf(global.length, k), 100 * (k + 1)));
		const updates = server!.store.updates;
		const insert = updates.insert.bind(updates);
		let failures = 1;
		updates.insert = async (record, payload) => {
			if (failures-- > 0) throw new Error('store unavailable');
			return insert(record, payload);
		};

		// Folded, then the write failed: no ack, so the device keeps it and sends it again.
		expect(await devices[0].participant.send(envelopes[0])).toMatchObject({ ok: false });
		expect(await devices[0].participant.send(envelopes[0])).toMatchObject({ ok: true, duplicate: false });
		expect(await server!.store.updates.findByRoundAndDevice(tasks[0].roundId, devices[0].id)).not.toBeNull();
		expect(await devices[1].participant.send(envelopes[1])).toMatchObject({ ok: true, duplicate: false });

		const round = await waitForRound(server!, project.id, 1, (r) => r.status === 'committed' || r.status === 'failed');
		expect(round).toMatchObject({ status: 'committed', totalSamples: 300 });
		// The first fold of device 0 is not counted twice: the sums were rebuilt from the store.
		const expected = createStrategy(project.strategy, global.length);
		for (const k of [0, 1]) expected.add({ delta: decodeWeights(encodeWeights(deltaOf(global.length, k))).values, numSamples: 100 * (k + 1) });
		const want = expected.finish(global);
		const got = (await server!.store.models.loadWeights(project.id, 1))!;
		expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
	});
	it('an update stored while a restarted (or new leader) server lists the round is folded, not deleted, and its device is not asked again', async () => {
		const { project, tasks } = await setUp(
			'durability-late-record',
			{ name: 'late record', rounds: 1, minParticipants: 3, shardCount: 3, roundTimeoutSec: 60 },
			3
		);
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		for (const k of [0, 1]) expect(await devices[k].participant.send(devices[k].participant.envelope(tasks[k], deltaOf(length, k), 100))).toMatchObject({ ok: true });
		const late = devices[1].id;
		// Device 1's record lands between the two reads of the round's updates, as another instance's would.
		server = await server!.restart({
			beforeStart: (store) => {
				const list = store.updates.listWithPayloads.bind(store.updates);
				store.updates.listWithPayloads = async (roundId) => (await list(roundId)).filter((u) => u.record.deviceId !== late);
			}
		});
		for (const d of devices) d.reconnect(server.url);
		const before = devices.map((d) => d.tasks.length);
		for (const d of devices) await d.participant.login(project.id);
		await devices[2].participant.task;
		await sleep(300);
		expect(devices.map((d, k) => d.tasks.length - before[k])).toEqual([0, 0, 1]);
		expect(await server.store.updates.findByRoundAndDevice(tasks[0].roundId, late)).not.toBeNull();
		expect(await devices[2].participant.send(devices[2].participant.envelope(tasks[2], deltaOf(length, 2), 100))).toMatchObject({ ok: true });
		const round = await waitForRound(server, project.id, 1, (r) => r.status === 'committed' || r.status === 'failed');
		expect(round).toMatchObject({ status: 'committed', totalSamples: 300 });
	});
});
