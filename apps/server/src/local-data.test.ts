import { holdOutCount, splitIndices } from '@qflare/data-import';
import {
	DASHBOARD_NAMESPACE,
	decodeShard,
	decodeWeights,
	demoTask,
	type Device,
	type DeviceStatusReport,
	type ErrorReply,
	type EvaluationReportMessage,
	type FederatedEvaluation,
	type ModelRecord,
	type PredictResponse,
	type Project,
	type Round,
	type RoundTask,
	type Standardization,
	type TaskSchema
} from '@qflare/protocol';
import type { EvaluationRecord } from '@qflare/store';
import type { DeviceKeypair } from '@qflare/pq';
import { encode as encodePng } from 'fast-png';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeModelService } from './models/node-model-service';
import { ScriptedParticipant } from './test-support/scripted-participant';
import { startTestServer, type TestServer } from './test-support/test-server';

const tabular: TaskSchema = {
	kind: 'tabular',
	features: [
		{ name: 'a', type: 'numeric' },
		{ name: 'b', type: 'numeric' },
		{ name: 'c', type: 'categorical', values: ['x', 'y'] }
	],
	target: 'label',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};
const forecast: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['co2', 'temp'], target: 'co2', window: 4, horizon: 2, loss: 'mse' };

/** Sums of one column over some rows, as a device reports them. */
const sums = (values: number[]) => ({ count: values.length, sum: values.reduce((s, v) => s + v, 0), sumSquares: values.reduce((s, v) => s + v * v, 0) });
/**
 * `values` five times over. A device shares sums only of at least MIN_ROWS_FOR_STATS rows;
 * repeating its rows keeps every merged mean and std what the values themselves give.
 */
const fiveTimes = (values: number[]) => Array.from({ length: 5 }, () => values).flat();

describe('local-data projects over real sockets and the embedded store', () => {
	let server: TestServer;
	const models = new NodeModelService();

	beforeAll(async () => {
		server = await startTestServer('local-test');
	});
	afterAll(() => server?.close());
	const rawPost = (p: string, body: string) =>
		fetch(`${server.url}/api/v1${p}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.ownerKey}` }, body });
	/** Where the owner creates projects. */
	const projectsPath = () => `/orgs/${server.organisationId}/projects`;
	/** One join token per project, for the participants that join it. */
	const tokens = new Map<string, string>();

	async function createProject(config: Record<string, unknown>): Promise<Project> {
		const project = await server.createProject({ rounds: 1, minParticipants: 2, shardCount: 2, roundTimeoutSec: 60, ...config });
		tokens.set(project.id, await server.joinToken(project.id));
		return project;
	}
	/** A participant that registers with its project's token; `keys` of another makes it that device again. */
	const participant = (keys?: DeviceKeypair) => new ScriptedParticipant(server.url, { keys, joinToken: (id) => tokens.get(id) });

	async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
		for (const stop = Date.now() + 30_000; Date.now() < stop; await new Promise((r) => setTimeout(r, 50))) {
			const value = await read();
			if (done(value)) return value;
		}
		throw new Error(`timed out waiting for ${what}`);
	}
	const roundsOf = async (projectId: string) => (await server.api<Round[]>('GET', `/projects/${projectId}/rounds`)).json;
	const committedRound = (projectId: string, number = 1) =>
		until(
			() => roundsOf(projectId),
			(rounds) => rounds.find((r) => r.number === number)?.status === 'committed',
			`round ${number} to commit`
		).then((rounds) => rounds.find((r) => r.number === number)!);

	/** Logs in `count` devices with statistics, starts, sends zero deltas and waits for round 1 and its evaluation requests. */
	async function runFirstRound(project: Project, stats: Record<string, ReturnType<typeof sums>>[], labelHistogram?: number[]) {
		const clients = stats.map(() => participant());
		for (const [i, c] of clients.entries()) {
			await c.login(project.id, { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram });
			expect(await c.ask('data:stats', { columns: stats[i] })).toEqual({ ok: true });
		}
		expect((await server.api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const tasks = await Promise.all(clients.map((c) => c.task));
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		for (const [i, c] of clients.entries()) expect(await c.send(c.envelope(tasks[i], new Float32Array(length).fill(0.001 * (i + 1)), 10))).toMatchObject({ ok: true });
		const round = await committedRound(project.id);
		await until(async () => clients.every((c) => c.evaluations.length > 0), Boolean, 'model:evaluate at every device');
		return { clients, tasks, round, length };
	}

	it('refuses local projects without a task, with a model that does not fit it, or too large for an update', async () => {
		const noTask = await server.api<ErrorReply>('POST', projectsPath(), { name: 'x', dataSource: 'local', model: 'logistic' });
		expect(noTask).toMatchObject({ status: 400, json: { code: 'SCHEMA_INVALID' } });
		expect(noTask.json.message).toMatch(/local-data project must declare its task schema/);
		const misfit = await server.api<ErrorReply>('POST', projectsPath(), { name: 'x', dataSource: 'local', task: tabular, model: 'cnn' });
		expect(misfit.status).toBe(400);
		expect(misfit.json.message).toMatch(/tabular task trains logistic, mlp, not cnn/);
		const huge = await server.api<ErrorReply>('POST', projectsPath(), {
			name: 'x',
			dataSource: 'local',
			task: { kind: 'image-classification', classes: ['a', 'b'], width: 256, height: 256, channels: 3 },
			model: 'cnn'
		});
		expect(huge.status).toBe(400);
		expect(huge.json.message).toMatch(/^model: cnn has 134,\d{3},\d{3} parameters for this task, more than the 4,194,304 an update may carry/);
		const cifarSized = await createProject({
			name: 'cifar-sized',
			dataSource: 'local',
			task: { kind: 'image-classification', classes: ['a', 'b'], width: 32, height: 32, channels: 3 },
			model: 'cnn'
		});
		expect(cifarSized).toMatchObject({ dataSource: 'local', model: 'cnn', standardization: null, holdOutFraction: 0.15 });
	});

	it('merges the devices\' statistics exactly at Start, and refuses to start before enough devices reported them', async () => {
		const project = await createProject({ name: 'stats', dataSource: 'local', task: tabular, model: 'logistic' });
		const [a, b] = [0, 1].map(() => participant());
		const loginA = await a.login(project.id, { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram: [5, 5] });
		expect(loginA.shardPath).toBeNull();
		expect(loginA.project).toMatchObject({ dataSource: 'local', task: tabular, holdOutFraction: 0.15, standardization: null });
		await b.login(project.id, { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram: [0, 10] });
		// A local project hands out no shard links, so no access token opens one.
		const shard = await server.anonymousApi<ErrorReply>('GET', `/projects/${project.id}/shard?device=${a.deviceId}`);
		expect(shard).toMatchObject({ status: 401, json: { code: 'UNAUTHENTICATED' } });

		// Bad statistics and histograms are refused and leave nothing on the device.
		const extra = await a.ask('data:stats', { columns: { a: sums(fiveTimes([1, 3])), b: sums(fiveTimes([2, 2])), c: sums(fiveTimes([1, 0])) } });
		expect(extra).toMatchObject({ ok: false, code: 'SCHEMA_INVALID', message: 'column(s) "c" are not numeric columns of the task' });
		expect(await a.ask('data:stats', { columns: { a: sums(fiveTimes([1, 3])) } })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID', message: 'missing statistics for column(s) "b"' });
		expect(await a.ask('data:stats', { columns: { a: { count: 10, sum: 20, sumSquares: -1 }, b: sums(fiveTimes([2, 2])) } })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		expect(await a.ask('device:status', { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram: [5, 5, 0] })).toMatchObject({
			ok: false,
			code: 'SCHEMA_INVALID',
			message: 'labelHistogram: 3 counts for 2 classes'
		});
		// Two rows' sums would give the rows away: a = 1, 3 solves sum 4, squares 10.
		const tooFew = await a.ask('data:stats', { columns: { a: sums([1, 3]), b: sums([2, 2]) } });
		expect(tooFew).toMatchObject({
			ok: false,
			code: 'SCHEMA_INVALID',
			message: 'the statistics cover 2 rows; a device shares column sums only of at least 10 training rows, so that they cannot reveal single rows'
		});
		expect(await server.store.devices.get(project.id, a.deviceId)).toMatchObject({ featureStats: null, labelHistogram: [5, 5] });

		// Device a: a = 1, 3 and b = 2, 2; device b: a = 5, 7 and b = 2, 6 (each five times over).
		expect(await a.ask('data:stats', { columns: { a: sums(fiveTimes([1, 3])), b: sums(fiveTimes([2, 2])) } })).toEqual({ ok: true });
		const early = await server.api<ErrorReply>('POST', `/projects/${project.id}/start`);
		expect(early).toMatchObject({ status: 409, json: { code: 'CONFLICT' } });
		expect(early.json.message).toMatch(/^1 of 2 devices reported feature statistics; the project needs 2/);
		expect((await server.api<Project>('GET', `/projects/${project.id}`)).json).toMatchObject({ status: 'idle', standardization: null });
		expect(await server.store.models.list(project.id)).toEqual([]);

		expect(await b.ask('data:stats', { columns: { a: sums(fiveTimes([5, 7])), b: sums(fiveTimes([2, 6])) } })).toEqual({ ok: true });
		const started = await server.api<Project>('POST', `/projects/${project.id}/start`);
		expect(started.status).toBe(200);
		// a: 1, 3, 5, 7 -> mean 4, population variance (9 + 1 + 1 + 9) / 4 = 5; b: 2, 2, 2, 6 -> mean 3, variance 3;
		// repeating every value five times changes neither, only the rows (2 devices x 10).
		const expected: Standardization = { columns: { a: { mean: 4, std: Math.sqrt(5) }, b: { mean: 3, std: Math.sqrt(3) } }, rows: 20, devices: 2 };
		expect(started.json.standardization).toEqual(expected);
		const [taskA, taskB] = await Promise.all([a.task, b.task]);
		for (const task of [taskA, taskB]) expect(task).toMatchObject({ model: 'logistic', modelVersion: 0, standardization: expected });
		// Logistic regression on 2 numeric + 2 one-hot inputs into 2 classes: 4 x 2 + 2 parameters.
		expect(decodeWeights(new Uint8Array(taskA.weights as ArrayBuffer)).values.length).toBe(10);

		// Statistics sent after Start are kept but change nothing: the scaling stays frozen.
		expect(await a.ask('data:stats', { columns: { a: sums(fiveTimes([100, 300])), b: sums(fiveTimes([2, 2])) } })).toEqual({ ok: true });
		for (const c of [a, b]) expect(await c.send(c.envelope(c === a ? taskA : taskB, new Float32Array(10).fill(c === a ? 0.01 : 0.02), 2))).toMatchObject({ ok: true });
		const round = await committedRound(project.id);
		// No server test set for local data; the train loss is still the participants' own.
		expect(round.metrics).toEqual({ testAccuracy: null, testLoss: null, trainLoss: 0.5, trainAccuracy: 0.8 });
		expect((await server.api<Project>('GET', `/projects/${project.id}`)).json.standardization).toEqual(expected);
		expect((await server.store.devices.get(project.id, b.deviceId))?.labelHistogram).toEqual([0, 10]);

		// Every ready device is asked to score v1 on its hold-out, with the project's scaling.
		await until(async () => a.evaluations.length + b.evaluations.length, (n) => n === 2, 'model:evaluate');
		for (const c of [a, b]) {
			expect(c.evaluations[0]).toMatchObject({ roundId: round.id, roundNumber: 1, modelVersion: 1, model: 'logistic', standardization: expected });
			expect(decodeWeights(new Uint8Array(c.evaluations[0].weights as ArrayBuffer)).values.length).toBe(10);
		}
		for (const c of [a, b]) c.socket.close();
	});

	it('selects only local devices that reported statistics, and starts an image task without any', async () => {
		const project = await createProject({ name: 'ready', dataSource: 'local', task: tabular, model: 'logistic', minParticipants: 1 });
		const [withStats, without] = [0, 1].map(() => participant());
		await withStats.login(project.id);
		await without.login(project.id);
		expect(await withStats.ask('data:stats', { columns: { a: sums(fiveTimes([1, 2])), b: sums(fiveTimes([3, 4])) } })).toEqual({ ok: true });
		expect((await server.api('POST', `/projects/${project.id}/start`)).status).toBe(200);
		await withStats.task;
		const [round] = await roundsOf(project.id);
		expect(round.selected).toEqual([withStats.deviceId]);
		for (const c of [withStats, without]) c.socket.close();

		const images = await createProject({
			name: 'images',
			dataSource: 'local',
			task: { kind: 'image-classification', classes: ['cat', 'dog'], width: 8, height: 8, channels: 1 },
			model: 'cnn-small',
			minParticipants: 1
		});
		const viewer = participant();
		await viewer.login(images.id, { backend: 'cpu', backendReason: 'test', samples: 5, labelHistogram: [2, 3] });
		expect(await viewer.ask('data:stats', { columns: {} })).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		const started = await server.api<Project>('POST', `/projects/${images.id}/start`);
		expect(started).toMatchObject({ status: 200, json: { status: 'running', standardization: null } });
		expect(await viewer.task).toMatchObject({ model: 'cnn-small', standardization: null });
		viewer.socket.close();

		const demo = await createProject({ name: 'demo' });
		const demoDevice = participant();
		const { shardPath } = await demoDevice.login(demo.id);
		expect(shardPath).toMatch(new RegExp(`^/api/v1/projects/${demo.id}/shard\\?device=${demoDevice.deviceId}&access=[\\w-]{43}$`));
		expect(await demoDevice.ask('data:stats', { columns: {} })).toMatchObject({ ok: false, code: 'CONFLICT' });
		// The server counts a demo shard's labels itself, over the rows the device trains on: the
		// shard less the hold-out the device draws with the project's fraction and seed.
		const shard = decodeShard(new Uint8Array(await (await fetch(`${server.url}${shardPath}`)).arrayBuffer()));
		const { train } = splitIndices(shard.count, { holdOutFraction: demo.holdOutFraction, seed: demo.seed });
		const trainCounts = new Array<number>(shard.numClasses).fill(0);
		for (const row of train) trainCounts[shard.labels[row]]++;
		const device = await server.store.devices.get(demo.id, demoDevice.deviceId);
		expect(device?.labelHistogram).toEqual(trainCounts);
		expect(demo.holdOutFraction).toBe(0.15);
		expect(trainCounts.reduce((a, b) => a + b, 0)).toBe(shard.count - holdOutCount(shard.count, 0.15));
		demoDevice.socket.close();
	});

	it('forgets a device\'s statistics when it logs in again: Start merges and selects only devices that re-sent theirs', async () => {
		const project = await createProject({ name: 'stale stats', dataSource: 'local', task: tabular, model: 'logistic', minParticipants: 1 });
		const [stale, fresh] = [0, 1].map(() => participant());
		// A participant's order: login, statistics, then status.
		const join = async (c: ScriptedParticipant, stats: Record<string, ReturnType<typeof sums>> | null) => {
			await c.login(project.id, null);
			if (stats) expect(await c.ask('data:stats', { columns: stats })).toEqual({ ok: true });
			expect(await c.ask('device:status', { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram: [5, 5] })).toEqual({ ok: true });
		};
		await join(stale, { a: sums(fiveTimes([100, 300])), b: sums(fiveTimes([50, 70])) });
		await join(fresh, { a: sums(fiveTimes([1, 3])), b: sums(fiveTimes([2, 2])) });

		// stale's user deleted the data and reloaded: the new tab logs in (the old one still open)
		// and, having no data, sends nothing more. fresh reconnects and re-sends its statistics.
		const staleAgain = participant(stale.keys);
		await staleAgain.login(project.id, null);
		expect(await server.store.devices.get(project.id, stale.deviceId)).toMatchObject({ featureStats: null });
		fresh.socket.close();
		const freshAgain = participant(fresh.keys);
		await join(freshAgain, { a: sums(fiveTimes([5, 7])), b: sums(fiveTimes([2, 6])) });

		const started = await server.api<Project>('POST', `/projects/${project.id}/start`);
		expect(started.status).toBe(200);
		// Only the re-sent sums: a = 5, 7 -> mean 6, variance 1; b = 2, 6 -> mean 4, variance 4.
		expect(started.json.standardization).toEqual({ columns: { a: { mean: 6, std: 1 }, b: { mean: 4, std: 2 } }, rows: 10, devices: 1 });
		// stale's old socket had made it ready; without statistics of this session it is not selected.
		await freshAgain.task;
		const [round] = await roundsOf(project.id);
		expect(round.selected).toEqual([fresh.deviceId]);
		for (const c of [stale, staleAgain, freshAgain]) c.socket.close();
	});

	it('merges evaluation reports of a round exactly, replaces a re-sent one, and rejects bad ones leaving nothing', async () => {
		const project = await createProject({ name: 'evaluation', dataSource: 'local', task: tabular, model: 'logistic', rounds: 2 });
		const dashboard = io(`${server.url}${DASHBOARD_NAMESPACE}`, {
			transports: ['websocket'],
			reconnection: false,
			// Its own connection: one shared with the participants' would carry their handshake headers.
			forceNew: true,
			extraHeaders: { authorization: `Bearer ${server.ownerKey}` }
		});
		const pushedRounds: Round[] = [];
		const pushedDevices: Device[][] = [];
		dashboard.on('round', (r: Round) => pushedRounds.push(r));
		dashboard.on('devices', (d: Device[]) => pushedDevices.push(d));
		expect(await dashboard.timeout(10_000).emitWithAck('watch', { projectId: project.id })).toEqual({ ok: true });

		const { clients, round } = await runFirstRound(project, [
			{ a: sums(fiveTimes([1, 3])), b: sums(fiveTimes([2, 2])) },
			{ a: sums(fiveTimes([5, 7])), b: sums(fiveTimes([2, 6])) }
		]);
		const [a, b] = clients;
		const report = (over: Partial<EvaluationReportMessage>): EvaluationReportMessage => ({ roundId: round.id, modelVersion: 1, n: 10, loss: 0.5, ...over });
		// a: 10 samples, 8 right; b: 30 samples, 21 right.
		const fromA = report({ classification: { correct: 8, truePositives: [5, 3], falsePositives: [1, 1], falseNegatives: [1, 1] } });
		const fromB = report({ n: 30, loss: 0.3, classification: { correct: 21, truePositives: [12, 9], falsePositives: [5, 4], falseNegatives: [4, 5] } });
		expect(await a.ask('eval:report', fromA)).toEqual({ ok: true });
		expect(await b.ask('eval:report', fromB)).toEqual({ ok: true });

		// Summed counts: tp [17, 12], fp [6, 5], fn [5, 6]; F1 = 2tp / (2tp + fp + fn) per class.
		const merged = (await roundsOf(project.id)).find((r) => r.number === 1)!.federatedEvaluation!;
		expect(merged).toMatchObject({ modelVersion: 1, devices: 2, n: 40, accuracy: 29 / 40, mae: null, rmse: null });
		expect(merged.loss).toBeCloseTo((0.5 * 10 + 0.3 * 30) / 40, 12);
		expect(merged.macroF1).toBeCloseTo((34 / 45 + 24 / 35) / 2, 12);
		const v1 = (await server.api<ModelRecord[]>('GET', `/projects/${project.id}/models`)).json.find((m) => m.version === 1)!;
		expect(v1.federatedEvaluation).toEqual(merged);
		const deviceA = (await server.api<Device[]>('GET', `/projects/${project.id}/devices`)).json.find((d) => d.id === a.deviceId)!;
		expect(deviceA.lastEvaluation).toMatchObject({ modelVersion: 1, n: 10, loss: 0.5, accuracy: 0.8, macroF1: (10 / 12 + 6 / 8) / 2, mae: null, rmse: null });
		expect(Date.parse(deviceA.lastEvaluation!.at)).not.toBeNaN();
		const stored = (await server.api<EvaluationRecord[]>('GET', `/projects/${project.id}/evaluations?round=1`)).json;
		expect(stored.map((e) => [e.deviceId, e.n, e.classification?.correct]).sort()).toEqual(
			[
				[a.deviceId, 10, 8],
				[b.deviceId, 30, 21]
			].sort()
		);
		expect((await server.api<EvaluationRecord[]>('GET', `/projects/${project.id}/evaluations?round=2`)).json).toEqual([]);
		expect((await server.api<ErrorReply>('GET', `/projects/${project.id}/evaluations?round=first`)).status).toBe(400);
		// The dashboard saw the merged round and the device's evaluation live.
		await until(async () => pushedRounds.some((r) => r.federatedEvaluation?.n === 40), Boolean, 'the merged round on the dashboard');
		await until(async () => pushedDevices.some((ds) => ds.some((d) => d.id === b.deviceId && d.lastEvaluation?.n === 30)), Boolean, 'devices on the dashboard');

		// A re-sent (here: changed) report replaces a's first one instead of counting twice.
		const again = report({ classification: { correct: 9, truePositives: [5, 4], falsePositives: [1, 0], falseNegatives: [0, 1] } });
		expect(await a.ask('eval:report', again)).toEqual({ ok: true });
		const replaced = (await roundsOf(project.id)).find((r) => r.number === 1)!.federatedEvaluation!;
		expect(replaced).toMatchObject({ devices: 2, n: 40, accuracy: 30 / 40 });

		// Round 2 is training now (both devices are ready): it has no model to evaluate yet.
		const round2 = await until(() => roundsOf(project.id), (rs) => rs.some((r) => r.number === 2 && r.status === 'training'), 'round 2');
		const training = round2.find((r) => r.number === 2)!;
		const stranger = participant();
		const classification = again.classification!;
		const bad: [ScriptedParticipant, unknown, string, RegExp][] = [
			[a, { ...again, modelVersion: 0 }, 'WRONG_MODEL_VERSION', /committed model v1, the report scores v0/],
			[a, { ...again, roundId: 'no-such-round' }, 'WRONG_ROUND', /no round no-such-round/],
			[a, { ...again, roundId: training.id }, 'WRONG_ROUND', /round 2 is training/],
			[a, { ...again, classification: { ...classification, truePositives: [5, 4, 0] } }, 'SCHEMA_INVALID', /truePositives has 3 entries; the task has 2 classes/],
			[a, { ...again, classification: undefined, regression: { values: 10, absErrorSum: 1, squaredErrorSum: 1 } }, 'SCHEMA_INVALID', /classification task needs/],
			[a, { ...again, n: 11 }, 'SCHEMA_INVALID', /not n \(11\)/],
			[a, { ...again, loss: Number.NaN }, 'SCHEMA_INVALID', /loss/],
			[stranger, again, 'UNAUTHENTICATED', /log in first/]
		];
		for (const [client, payload, code, message] of bad) {
			const reply = await client.ask('eval:report', payload);
			expect(reply, JSON.stringify(payload)).toMatchObject({ ok: false, code });
			expect((reply as ErrorReply).message).toMatch(message);
		}
		expect((await roundsOf(project.id)).find((r) => r.number === 1)!.federatedEvaluation).toEqual(replaced);
		expect(await server.store.evaluations.listByProject(project.id)).toHaveLength(2);
		expect((await server.store.devices.get(project.id, a.deviceId))?.lastEvaluation).toMatchObject({ accuracy: 0.9 });
		for (const c of [a, b, stranger]) c.socket.close();
		dashboard.close();
	});

	it('asks a device that becomes ready after the commit to score the last committed model, once, and merges its report into that round', async () => {
		const project = await createProject({ name: 'late evaluation', dataSource: 'local', task: tabular, model: 'logistic' });
		const stats = { a: sums(fiveTimes([1, 3])), b: sums(fiveTimes([2, 2])) };
		const { clients, round } = await runFirstRound(project, [stats, stats]);
		const [a, b] = clients;
		// The project ran its only round: no later commit will ask anyone again.
		expect((await server.api<Project>('GET', `/projects/${project.id}`)).json.status).toBe('completed');
		const report = (n: number, correct: number): EvaluationReportMessage => ({
			roundId: round.id,
			modelVersion: 1,
			n,
			loss: 0.4,
			classification: { correct, truePositives: [correct, 0], falsePositives: [n - correct, 0], falseNegatives: [0, n - correct] }
		});
		// a scores v1 when asked at the commit; b never answers (its tab closes while it scores).
		expect(await a.ask('eval:report', report(10, 8))).toEqual({ ok: true });
		const login: DeviceStatusReport = { backend: 'cpu', backendReason: 'test', samples: 10, labelHistogram: [5, 5] };
		const join = async (c: ScriptedParticipant) => {
			await c.login(project.id, login);
			expect(await c.ask('data:stats', { columns: stats })).toEqual({ ok: true });
		};

		// A device that joins after the commit is asked for v1, with the stored weights and the project's scaling.
		const late = participant();
		await join(late);
		await until(async () => late.evaluations.length, (n) => n > 0, 'model:evaluate at the late device');
		const v1 = (await server.store.models.loadWeights(project.id, 1))!;
		const standardization = (await server.api<Project>('GET', `/projects/${project.id}`)).json.standardization;
		expect(late.evaluations[0]).toMatchObject({ roundId: round.id, roundNumber: 1, modelVersion: 1, model: 'logistic', standardization });
		expect(Array.from(decodeWeights(new Uint8Array(late.evaluations[0].weights as ArrayBuffer)).values)).toEqual(Array.from(v1));
		// Its status again, while the request is outstanding, asks nothing more.
		expect(await late.ask('device:status', login)).toEqual({ ok: true });
		expect(await late.ask('data:stats', { columns: stats })).toEqual({ ok: true });

		// Its report is merged into round 1 beside a's.
		expect(await late.ask('eval:report', report(30, 21))).toEqual({ ok: true });
		const merged = (await server.store.rounds.get(round.id))!.federatedEvaluation;
		expect(merged).toMatchObject({ modelVersion: 1, devices: 2, n: 40, accuracy: 29 / 40 });
		expect((await server.store.models.get(project.id, 1))?.federatedEvaluation).toEqual(merged);

		// Reloads (a new socket while the old one is still open): b, which never reported, is asked
		// again; a and the late device already reported v1 and are not.
		const reloads = [a, b, late].map((c) => participant(c.keys));
		for (const c of reloads) await join(c);
		const [aAgain, bAgain, lateAgain] = reloads;
		await until(async () => bAgain.evaluations.length, (n) => n > 0, 'model:evaluate at the reloaded b');
		expect(bAgain.evaluations[0]).toMatchObject({ roundId: round.id, modelVersion: 1 });
		// A device joining last is asked after the others were dealt with (one queue per project).
		const last = participant();
		await join(last);
		await until(async () => last.evaluations.length, (n) => n > 0, 'model:evaluate at the last device');
		await new Promise((r) => setTimeout(r, 100));
		expect(aAgain.evaluations).toEqual([]);
		expect(lateAgain.evaluations).toEqual([]);
		expect(late.evaluations).toHaveLength(1);
		expect(bAgain.evaluations).toHaveLength(1);
		expect(await server.store.evaluations.listByRound(round.id)).toHaveLength(2);
		for (const c of [...clients, late, ...reloads, last]) c.socket.close();
	});

	it('merges regression reports into MAE and RMSE and predicts a forecast in the target\'s units', async () => {
		const project = await createProject({ name: 'forecast', dataSource: 'local', task: forecast, model: 'conv1d' });
		const { clients, round, length } = await runFirstRound(project, [
			{ co2: sums(fiveTimes([1, 2, 3])), temp: sums(fiveTimes([0, 0, 0])) },
			{ co2: sums(fiveTimes([4, 5, 6])), temp: sums(fiveTimes([0, 0, 0])) }
		]);
		const [a, b] = clients;
		const base = { roundId: round.id, modelVersion: 1 };
		expect(await a.ask('eval:report', { ...base, n: 2, loss: 0.2, regression: { values: 4, absErrorSum: 2, squaredErrorSum: 1.5 } })).toEqual({ ok: true });
		expect(await b.ask('eval:report', { ...base, n: 3, loss: 0.4, regression: { values: 6, absErrorSum: 3, squaredErrorSum: 2.5 } })).toEqual({ ok: true });
		const merged = (await server.store.rounds.get(round.id))!.federatedEvaluation!;
		const expected: Partial<FederatedEvaluation> = { modelVersion: 1, devices: 2, n: 5, accuracy: null, macroF1: null, mae: 5 / 10, rmse: Math.sqrt(4 / 10) };
		expect(merged).toMatchObject(expected);
		expect(merged.loss).toBeCloseTo((0.2 * 2 + 0.4 * 3) / 5, 12);
		// 2 windows with a horizon of 2 make 4 values, not 5; and a forecast has no classes.
		expect(await a.ask('eval:report', { ...base, n: 2, loss: 0.2, regression: { values: 5, absErrorSum: 2, squaredErrorSum: 1.5 } })).toMatchObject({
			ok: false,
			code: 'SCHEMA_INVALID',
			message: 'values is 5; 2 samples with 2 predicted value(s) each make 4'
		});
		const classified = { ...base, n: 2, loss: 0.2, classification: { correct: 1, truePositives: [1, 0], falsePositives: [0, 1], falseNegatives: [1, 0] } };
		expect(await a.ask('eval:report', classified)).toMatchObject({ ok: false, code: 'SCHEMA_INVALID' });
		expect((await server.store.rounds.get(round.id))!.federatedEvaluation).toEqual(merged);

		// co2 over 1..6 (each five times): mean 3.5, population std sqrt(91/6 - 3.5^2); temp is constant: std 1.
		const project1 = (await server.api<Project>('GET', `/projects/${project.id}`)).json;
		const co2 = { mean: 3.5, std: Math.sqrt(91 / 6 - 3.5 * 3.5) };
		expect(project1.standardization).toEqual({ columns: { co2, temp: { mean: 0, std: 1 } }, rows: 30, devices: 2 });

		const window = [
			[1, 0],
			[2, 0],
			[3, 0],
			[4, 0]
		];
		const answer = await server.api<PredictResponse>('POST', `/projects/${project.id}/models/1/predict`, { windows: [window] });
		expect(answer.status, JSON.stringify(answer.json)).toBe(200);
		expect(answer.json).toMatchObject({ projectId: project.id, modelVersion: 1 });
		// The same model fed by hand: inputs standardised, outputs scaled back to ppm.
		const weights = (await server.store.models.loadWeights(project.id, 1))!;
		expect(weights.length).toBe(length);
		const inputs = Float32Array.from(window.flatMap(([c, t]) => [(c - co2.mean) / co2.std, t]));
		const raw = await models.predict('conv1d', forecast, weights, inputs, 1);
		const [prediction] = answer.json.predictions as { values: number[] }[];
		expect(prediction.values).toHaveLength(2);
		for (let h = 0; h < 2; h++) expect(prediction.values[h]).toBeCloseTo(raw[h] * co2.std + co2.mean, 4);

		const short = await server.api<ErrorReply>('POST', `/projects/${project.id}/models/1/predict`, { windows: [window.slice(0, 2)] });
		expect(short).toMatchObject({ status: 400, json: { code: 'SCHEMA_INVALID' } });
		const rows = await server.api<ErrorReply>('POST', `/projects/${project.id}/models/1/predict`, { rows: [{ co2: 1 }] });
		expect(rows).toMatchObject({ status: 400, json: { message: "this project's task is time-series: send windows (window rows x value columns)" } });
		for (const c of clients) c.socket.close();
	});

	it('predicts with a committed tabular model: class probabilities from standardised rows', async () => {
		const project = await createProject({ name: 'predict', dataSource: 'local', task: tabular, model: 'logistic' });
		const standardization: Standardization = { columns: { a: { mean: 4, std: 2 }, b: { mean: 3, std: 1 } }, rows: 20, devices: 2 };
		await server.store.projects.update(project.id, { standardization });
		expect(models.parameterCount('logistic', tabular)).toBe(10);
		// One dense softmax layer: kernel [inputs a, b, c=x, c=y] x [no, yes], then the bias.
		const kernel = [1, -1, 0.5, 0, 0, 0.25, 0, 0];
		const bias = [0.1, -0.1];
		await server.store.models.saveModel({ projectId: project.id, version: 0, roundNumber: null }, Float32Array.from([...kernel, ...bias]));

		const rows = [
			{ a: 6, b: 3, c: 'x' },
			{ a: '2', b: 5, c: 'y' }
		];
		const answer = await server.api<PredictResponse>('POST', `/projects/${project.id}/models/latest/predict`, { rows });
		expect(answer.status, JSON.stringify(answer.json)).toBe(200);
		expect(answer.json.modelVersion).toBe(0);
		// Row 1 scaled: [1, 0, 1, 0] -> logits no 1.1, yes -0.85. Row 2: [-1, 2, 0, 1] -> no 0.1, yes 0.9.
		const softmax = (no: number, yes: number) => ({ no: 1 / (1 + Math.exp(yes - no)), yes: 1 / (1 + Math.exp(no - yes)) });
		const expected = [softmax(1.1, -0.85), softmax(0.1, 0.9)];
		const predictions = answer.json.predictions as { label: string; probabilities: Record<string, number> }[];
		expect(predictions.map((p) => p.label)).toEqual(['no', 'yes']);
		for (const [i, p] of predictions.entries()) {
			expect(Object.keys(p.probabilities)).toEqual(['no', 'yes']);
			expect(p.probabilities.no).toBeCloseTo(expected[i].no, 5);
			expect(p.probabilities.yes).toBeCloseTo(expected[i].yes, 5);
			expect(p.probabilities.no + p.probabilities.yes).toBeCloseTo(1, 5);
		}

		const predict = (body: unknown, version = '0') => server.api<ErrorReply>('POST', `/projects/${project.id}/models/${version}/predict`, body);
		expect(await predict({ rows }, '3')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: 'no model v3' } });
		expect((await server.api<ErrorReply>('POST', '/projects/nope/models/0/predict', { rows })).status).toBe(404);
		const outside = await predict({ rows: [{ a: 1, b: 2, c: 'z' }] });
		expect(outside).toMatchObject({ status: 400, json: { code: 'SCHEMA_INVALID' } });
		expect(outside.json.message).toMatch(/"z"/);
		const missing = await predict({ rows: [{ a: 1, c: 'x' }] });
		expect(missing.status).toBe(400);
		expect(missing.json.message).toMatch(/\bb\b/);
		expect((await predict({ rows: [{ a: 'many', b: 2, c: 'x' }] })).status).toBe(400);
		expect(await predict({ images: ['AAAA'] })).toMatchObject({ status: 400, json: { message: "this project's task is tabular: send rows (objects by column name)" } });
		expect(await predict({})).toMatchObject({ status: 400, json: { code: 'SCHEMA_INVALID' } });

		// Bodies the parser refuses: malformed JSON is 400, more than the route's 8 MB is 413.
		const malformed = await rawPost(`/projects/${project.id}/models/0/predict`, '{"rows": [');
		expect(malformed.status).toBe(400);
		expect(await malformed.json()).toMatchObject({ ok: false, code: 'SCHEMA_INVALID', message: 'request body is not valid JSON' });
		const big = JSON.stringify({ images: Array.from({ length: 5 }, () => 'A'.repeat(1_800_000)) });
		expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
		const tooLarge = await rawPost(`/projects/${project.id}/models/0/predict`, big);
		expect(tooLarge.status).toBe(413);
		expect(await tooLarge.json()).toMatchObject({ ok: false, code: 'TOO_LARGE', message: 'request body is larger than this route takes' });
		// Images fit under the predict limit but not under the 64 kB of the other routes.
		const withinPredict = JSON.stringify({ images: ['A'.repeat(100_000)] });
		expect((await rawPost(`/projects/${project.id}/models/0/predict`, withinPredict)).status).toBe(400);
		const projectTooLarge = await rawPost(projectsPath(), JSON.stringify({ name: 'x'.repeat(100_000) }));
		expect(projectTooLarge.status).toBe(413);
		expect(await projectTooLarge.json()).toMatchObject({ ok: false, code: 'TOO_LARGE', message: 'request body is larger than this route takes' });

		// Without merged scaling a tabular model cannot be fed.
		const unscaled = await createProject({ name: 'unscaled', dataSource: 'local', task: tabular, model: 'logistic' });
		await server.store.models.saveModel({ projectId: unscaled.id, version: 0, roundNumber: null }, new Float32Array(10));
		const conflict = await server.api<ErrorReply>('POST', `/projects/${unscaled.id}/models/0/predict`, { rows });
		expect(conflict).toMatchObject({ status: 409, json: { code: 'CONFLICT' } });
	});

	it('predicts digits from PNG files with a demo project\'s model', async () => {
		const project = await createProject({ name: 'digits' });
		const task = demoTask('mnist');
		const weights = await models.initialWeights('mlp', task, 3);
		await server.store.models.saveModel({ projectId: project.id, version: 0, roundNumber: null }, weights);
		const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => ((i % 28) * 9) % 256);
		const png = encodePng({ width: 28, height: 28, data: pixels, channels: 1, depth: 8 });
		const answer = await server.api<PredictResponse>('POST', `/projects/${project.id}/models/0/predict`, { images: [Buffer.from(png).toString('base64')] });
		expect(answer.status, JSON.stringify(answer.json)).toBe(200);
		const [prediction] = answer.json.predictions as { label: string; probabilities: Record<string, number> }[];
		expect(Object.keys(prediction.probabilities)).toEqual(task.classes);
		const probabilities = Object.values(prediction.probabilities);
		expect(probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
		const direct = await models.predict('mlp', task, weights, pixels, 1);
		for (let c = 0; c < 10; c++) expect(probabilities[c]).toBeCloseTo(direct[c], 6);
		expect(prediction.label).toBe(task.classes[probabilities.indexOf(Math.max(...probabilities))]);

		const notImage = await server.api<ErrorReply>('POST', `/projects/${project.id}/models/0/predict`, { images: [Buffer.from('hello').toString('base64')] });
		expect(notImage).toMatchObject({ status: 400, json: { code: 'SCHEMA_INVALID' } });
		expect(notImage.json.message).toMatch(/image 1/);
		const rowsToImages = await server.api<ErrorReply>('POST', `/projects/${project.id}/models/0/predict`, { rows: [{ a: 1 }] });
		expect(rowsToImages.json.message).toBe("this project's task is image-classification: send images (base64 PNG or JPEG files)");
	});

	it('describes the new routes in the OpenAPI document', async () => {
		const doc = (await server.api<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>('GET', '/openapi.json')).json;
		expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/projects/{id}/models/{version}/predict', '/projects/{id}/evaluations']));
		expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['PredictRequest', 'PredictResponse']));
	});
});
