import { describe, expect, it } from 'vitest';
import {
	decodeMaskedWords,
	encodeShard,
	encodeWeights,
	decodeWeights,
	type ColumnScale,
	type ErrorReply,
	type EvaluationReportMessage,
	type EvaluationTask,
	type FeatureStatsReport,
	type ImageClassificationTask,
	type LoginReply,
	type ParticipantProjectView,
	type ParticipantServerEvents,
	type RoundTask,
	type SecureKeysMessage,
	type SecureRevealMessage,
	type SecureRoundSetup,
	type SecureSharesMessage,
	type Standardization,
	type TabularTask,
	type TrainingProgress,
	type UpdateEnvelope
} from '@qflare/protocol';
import type { PreparedData } from '@qflare/data-import';
import type { LabelledData } from '@qflare/trainer';
import {
	deviceIdFromPublicKey,
	fromBase64,
	generateDeviceKeypair,
	loginMessage,
	rotateKeyMessage,
	sha256Hex,
	toBase64,
	updateMessage,
	verifySignature,
	secaggKeysMessage,
	type DeviceKeypair
} from '@qflare/pq';
import { chooseFixedPoint, combineShares, createNeighbourGraph, decodeShare, decodeSum, sumModular, unmaskSum } from '@qflare/fl';
import { SecureRoundClient } from './secure-aggregation';
import { ParticipantSession, type ParticipantState } from './session';
import { DemoDataProvider, shardCacheKey } from './demo-data';
import { LocalDataProvider, ProjectDataProvider } from './local-data';
import type {
	AckEvent,
	Calibration,
	ConnectionHandlers,
	DataProvider,
	DeviceIdentity,
	HoldOutScore,
	IdentityStore,
	LocalHyperparams,
	LocalProgress,
	LocalTrainResult,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
	RotatedKey,
	SessionTrainer,
	ShardCache
} from './ports';

const PROJECT = 'proj-1';
const SEED = new Uint8Array(32).fill(7);

type Handler = (payload: unknown) => Promise<unknown>;

/** A scripted server on the other end of a fake socket. */
class FakeSocket implements ParticipantSocket {
	connection: ConnectionHandlers | null = null;
	readonly serverHandlers = new Map<string, (arg: never) => void>();
	readonly requests: { event: string; payload: unknown }[] = [];
	readonly progress: TrainingProgress[] = [];
	readonly replies = new Map<string, Handler>();
	connected = false;
	closed = false;

	connect(): void {
		this.connected = true;
		queueMicrotask(() => this.connection?.connect());
	}
	disconnect(): void {
		this.closed = true;
		this.connected = false;
	}
	onConnection(handlers: ConnectionHandlers): void {
		this.connection = handlers;
	}
	on<E extends keyof ParticipantServerEvents>(event: E, handler: ParticipantServerEvents[E]): void {
		this.serverHandlers.set(event, handler as (arg: never) => void);
	}
	async request<E extends AckEvent>(event: E, payload: RequestOf<E>): Promise<ReplyOf<E>> {
		this.requests.push({ event, payload });
		const handler = this.replies.get(event);
		if (!handler) throw new Error(`no fake reply for ${event}`);
		return (await handler(payload)) as ReplyOf<E>;
	}
	notify(_event: 'round:progress', payload: TrainingProgress): void {
		this.progress.push(payload);
	}

	/** Server side: push an event to the participant. */
	send<E extends keyof ParticipantServerEvents>(event: E, arg: Parameters<ParticipantServerEvents[E]>[0]): void {
		const handler = this.serverHandlers.get(event) as ((a: typeof arg) => void) | undefined;
		handler?.(arg);
	}
	/** Simulates a dropped connection and the transport's automatic reconnect. */
	reconnect(): void {
		this.connection?.disconnect('transport close');
		this.connection?.connect();
	}
	sent(event: string): unknown[] {
		return this.requests.filter((r) => r.event === event).map((r) => r.payload);
	}
}

class FakeTrainer implements SessionTrainer {
	inits: { model: string; kind: string }[] = [];
	trained: Float32Array[] = [];
	trainedData: LabelledData[] = [];
	seeds: number[] = [];
	evaluated: { weights: Float32Array; data: LabelledData; scale: ColumnScale | null }[] = [];
	/** Calls in flight; the session must never run two at once. */
	running = 0;
	maxRunning = 0;
	accuracy: number | null = 0.9;
	/** Resolves the training run in progress when set (tests that queue work behind it). */
	gate: Promise<void> | null = null;
	score: HoldOutScore = {
		n: 2,
		loss: 0.5,
		classification: { correct: 1, truePositives: [1, 0], falsePositives: [1, 0], falseNegatives: [0, 1] }
	};

	async init(model: string, task: { kind: string }): Promise<Calibration> {
		this.inits.push({ model, kind: task.kind });
		return { backend: 'wasm', reason: 'wasm 7 ms/step beat cpu 28 ms/step' };
	}
	async train(
		globalWeights: Float32Array,
		data: LabelledData,
		hyperparams: LocalHyperparams,
		onProgress: (p: LocalProgress) => void
	): Promise<LocalTrainResult> {
		this.enter();
		try {
			this.trained.push(globalWeights);
			this.trainedData.push(data);
			this.seeds.push(hyperparams.seed);
			const batches = Math.ceil(data.count / hyperparams.batchSize);
			for (let epoch = 1; epoch <= hyperparams.localEpochs; epoch++) {
				for (let batch = 1; batch <= batches; batch++) onProgress({ epoch, epochs: hyperparams.localEpochs, batch, batches, loss: 1 / batch });
			}
			if (this.gate) await this.gate;
			const delta = globalWeights.map((w) => w * 0.5);
			return { delta, numSamples: data.count, steps: batches, loss: 0.4, accuracy: this.accuracy, trainMs: 12 };
		} finally {
			this.running--;
		}
	}
	async evaluateHoldOut(weights: Float32Array, data: LabelledData, scale: ColumnScale | null): Promise<HoldOutScore> {
		this.enter();
		try {
			this.evaluated.push({ weights, data, scale });
			await new Promise((r) => setTimeout(r, 1));
			return this.score;
		} finally {
			this.running--;
		}
	}
	private enter(): void {
		this.running++;
		this.maxRunning = Math.max(this.maxRunning, this.running);
	}
}

/** One project's identity in memory; records every rotated key it is asked to keep or stage. */
class MemoryIdentityStore implements IdentityStore {
	readonly replaced: DeviceIdentity[] = [];
	readonly staged: RotatedKey[] = [];
	constructor(public identity: DeviceIdentity) {}
	async loadOrCreate(): Promise<DeviceIdentity> {
		return this.identity;
	}
	async stagePending(_projectId: string, identity: RotatedKey): Promise<void> {
		this.staged.push(identity);
		this.identity = { ...this.identity, pending: identity };
	}
	async replace(_projectId: string, identity: RotatedKey): Promise<void> {
		this.replaced.push(identity);
		this.identity = identity;
	}
	async clearPending(): Promise<void> {
		this.identity = { ...this.identity, pending: null };
	}
}

class MemoryShardCache implements ShardCache {
	readonly map = new Map<string, Uint8Array>();
	async get(key: string) {
		return this.map.get(key);
	}
	async put(key: string, bytes: Uint8Array) {
		this.map.set(key, bytes);
	}
}

/** A demo shard: 20 MNIST-sized rows; the project holds out 15% of them, 3 rows, for evaluation. */
function shardBytes(count = 20): Uint8Array {
	const images = new Uint8Array(count * 784).map((_, i) => i % 256);
	const labels = new Uint8Array(count).map((_, i) => i % 3);
	return encodeShard({ count, width: 28, height: 28, numClasses: 10, images, labels });
}

const DEMO_VIEW: ParticipantProjectView = {
	id: PROJECT,
	name: 'Digits',
	dataset: 'mnist',
	model: 'mlp',
	status: 'running',
	rounds: 5,
	currentRound: 1,
	modelVersion: 0,
	batchSize: 10,
	seed: 1,
	dataSource: 'demo',
	task: null,
	holdOutFraction: 0.15,
	standardization: null
};

/** Tabular classification: a numeric column and a categorical one (one-hot), two classes. */
const TABULAR: TabularTask = {
	kind: 'tabular',
	features: [
		{ name: 'age', type: 'numeric' },
		{ name: 'colour', type: 'categorical', values: ['red', 'blue'] }
	],
	target: 'label',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};

const LOCAL_VIEW: ParticipantProjectView = {
	...DEMO_VIEW,
	name: 'Clinic',
	dataset: 'mnist',
	model: 'logistic',
	dataSource: 'local',
	task: TABULAR,
	standardization: null
};

/** `values` three times over: the training split repeats four rows to reach MIN_ROWS_FOR_STATS. */
const thrice = (values: number[]) => [...values, ...values, ...values];

/**
 * Twelve training rows, (age, red, blue) 10 red, 12 blue, 14 red, 16 blue three times over with
 * labels 1, 0, 1, 1; two held out, labels 0, 1. Age: 12 rows, sum 3 x 52, squares 3 x 696.
 */
function tabularData(): PreparedData {
	return {
		task: TABULAR,
		train: {
			count: 12,
			inputs: new Float32Array(thrice([10, 1, 0, 12, 0, 1, 14, 1, 0, 16, 0, 1])),
			targets: new Uint8Array(thrice([1, 0, 1, 1]))
		},
		holdOut: { count: 2, inputs: new Float32Array([8, 1, 0, 20, 0, 1]), targets: new Uint8Array([0, 1]) },
		stats: { columns: { age: { count: 12, sum: 156, sumSquares: 2088 } } },
		labelHistogram: [4, 10],
		summary: { source: 'clinic.csv', rows: 14, columns: ['age', 'colour', 'label'], preview: [], trainCount: 12, holdOutCount: 2, gapWindows: 0, skipped: [] }
	};
}

/** The first `rows` training rows of tabularData, with their own statistics. */
function firstRows(rows: number): PreparedData {
	const data = tabularData();
	const ages = Array.from(data.train.inputs.subarray(0, rows * 3)).filter((_, i) => i % 3 === 0);
	return {
		...data,
		train: { count: rows, inputs: data.train.inputs.slice(0, rows * 3), targets: data.train.targets.slice(0, rows) },
		stats: { columns: { age: { count: rows, sum: ages.reduce((a, b) => a + b, 0), sumSquares: ages.reduce((a, b) => a + b * b, 0) } } }
	};
}

/** Standardisation the server merged: age mean 12, std 2. */
const AGE_SCALE: Standardization = { columns: { age: { mean: 12, std: 2 } }, rows: 40, devices: 3 };

interface Harness {
	session: ParticipantSession;
	socket: FakeSocket;
	trainer: FakeTrainer;
	shards: MemoryShardCache;
	keypair: DeviceKeypair;
	identity: MemoryIdentityStore;
	fetches: string[];
	nonces: string[];
	logins: { deviceId: string; nonce: string; signature: string }[];
	states: ParticipantState[];
}

interface HarnessOptions {
	shards?: MemoryShardCache;
	project?: ParticipantProjectView;
	/** Local data on this device (local projects); null = nothing imported. */
	local?: PreparedData | null;
	/** Replaces the demo and local providers altogether. */
	data?: DataProvider;
	joinToken?: string;
}

function harness(options: HarnessOptions | MemoryShardCache = {}): Harness {
	const { shards = new MemoryShardCache(), project = DEMO_VIEW, local = null, data: provider, joinToken } =
		options instanceof MemoryShardCache ? { shards: options } : options;
	const keypair = generateDeviceKeypair(SEED);
	const deviceId = deviceIdFromPublicKey(keypair.publicKey);
	const socket = new FakeSocket();
	const trainer = new FakeTrainer();
	const fetches: string[] = [];
	const nonces: string[] = [];
	const logins: Harness['logins'] = [];
	let n = 0;
	socket.replies.set('auth:challenge', async () => {
		const nonce = `nonce-${++n}-0123456789abcdef`;
		nonces.push(nonce);
		return { ok: true, deviceId, nonce };
	});
	socket.replies.set('auth:login', async (payload) => {
		const req = payload as RequestOf<'auth:login'>;
		logins.push(req);
		const reply: LoginReply = {
			ok: true,
			deviceId,
			shardIndex: 3,
			shardPath: project.dataSource === 'demo' ? `/api/v1/projects/${PROJECT}/shard?device=${deviceId}` : null,
			project
		};
		return reply;
	});
	socket.replies.set('device:status', async () => ({ ok: true }));
	socket.replies.set('data:stats', async () => ({ ok: true }));
	socket.replies.set('eval:report', async () => ({ ok: true }));
	socket.replies.set('round:update', async () => ({ ok: true, roundId: 'r1', accepted: 1 }));
	const data: DataProvider = provider ?? new ProjectDataProvider({
		demo: new DemoDataProvider(shards, async (path) => {
			fetches.push(path);
			return shardBytes();
		}),
		local: new LocalDataProvider({ load: async (id) => (id === PROJECT ? local : null) })
	});
	const identity = new MemoryIdentityStore(keypair);
	const session = new ParticipantSession({
		projectId: PROJECT,
		socket,
		trainer,
		data,
		identity,
		joinToken,
		userAgent: 'vitest',
		loginRetryMs: 5
	});
	const states: ParticipantState[] = [];
	session.subscribe((s) => states.push(s));
	return { session, socket, trainer, shards, keypair, identity, fetches, nonces, logins, states };
}

function task(roundId = 'r1', modelVersion = 0, standardization: Standardization | null = null): RoundTask {
	const weights = encodeWeights(new Float32Array([0.5, -1, 2, 0.25]));
	return {
		roundId,
		roundNumber: 1,
		modelVersion,
		model: 'mlp',
		hyperparams: { localEpochs: 2, batchSize: 5, learningRate: 0.1, proximalMu: 0, clipNorm: null, validationFraction: 0 },
		updateEncoding: { kind: 'f32' },
		deadline: new Date(Date.now() + 60_000).toISOString(),
		seed: 9,
		standardization,
		// Browsers receive binary as ArrayBuffer.
		weights: weights.buffer as ArrayBuffer
	};
}

function evaluation(roundId = 'r1', modelVersion = 1, standardization: Standardization | null = null): EvaluationTask {
	const weights = encodeWeights(new Float32Array([1, 2, 3, 4]));
	return { roundId, roundNumber: 1, modelVersion, model: 'mlp', standardization, weights: weights.buffer as ArrayBuffer };
}

function closedRound(roundId: string, roundNumber: number): Parameters<ParticipantServerEvents['round:closed']>[0] {
	return {
		roundId,
		roundNumber,
		status: 'committed',
		modelVersion: roundNumber,
		metrics: { testAccuracy: 0.9, testLoss: 0.3, trainLoss: 0.4, trainAccuracy: 0.9 }
	};
}

async function until(check: () => boolean, what: string): Promise<void> {
	const start = Date.now();
	while (!check()) {
		if (Date.now() - start > 5_000) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 1));
	}
}

const ready = (h: Harness) => until(() => h.session.snapshot.phase === 'waiting', 'the session to be ready');

describe('ParticipantSession', () => {
	it('logs in with a signature over the server nonce, then reports its device status', async () => {
		const h = harness();
		await h.session.start();
		await ready(h);

		const [challenge] = h.socket.sent('auth:challenge') as RequestOf<'auth:challenge'>[];
		expect(challenge.projectId).toBe(PROJECT);
		expect(challenge.kind).toBe('browser');
		expect(fromBase64(challenge.publicKey)).toEqual(h.keypair.publicKey);

		const [login] = h.logins;
		const message = loginMessage({ projectId: PROJECT, deviceId: login.deviceId, nonce: h.nonces[0] });
		expect(login.nonce).toBe(h.nonces[0]);
		expect(verifySignature(h.keypair.publicKey, message, fromBase64(login.signature))).toBe(true);
		expect(login.deviceId).toBe(deviceIdFromPublicKey(h.keypair.publicKey));

		// Demo data: 17 training rows (3 of 20 held out), no statistics, no label counts.
		expect(h.socket.sent('device:status')).toEqual([
			{ backend: 'wasm', backendReason: 'wasm 7 ms/step beat cpu 28 ms/step', samples: 17 }
		]);
		expect(h.socket.sent('data:stats')).toEqual([]);
		const s = h.session.snapshot;
		expect(s).toMatchObject({ connection: 'online', backend: 'wasm', samples: 17, holdOutSamples: 3, shardIndex: 3 });
		expect(h.trainer.inits).toEqual([{ model: 'mlp', kind: 'image-classification' }]);
		expect(s.project?.name).toBe('Digits');
	});

	it('fetches the shard once and serves later sessions from the cache', async () => {
		const shards = new MemoryShardCache();
		const first = harness(shards);
		await first.session.start();
		await ready(first);
		expect(first.fetches).toHaveLength(1);
		const key = shardCacheKey(PROJECT, deviceIdFromPublicKey(first.keypair.publicKey), 3);
		expect(shards.map.has(key)).toBe(true);

		// A reload: a new session over the same IndexedDB contents.
		const second = harness(shards);
		await second.session.start();
		await ready(second);
		expect(second.fetches).toHaveLength(0);
		expect(second.session.snapshot.samples).toBe(17);
	});

	it('trains a task and sends an update whose hash matches the payload and whose signature verifies', async () => {
		const h = harness();
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r1', 4));
		await until(() => h.session.snapshot.upload === 'accepted', 'the update to be accepted');

		expect(Array.from(h.trainer.trained[0])).toEqual([0.5, -1, 2, 0.25]);
		expect(h.trainer.seeds).toEqual([9]);
		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		const payload = new Uint8Array(update.payload as ArrayBuffer);
		expect(update.payloadSha256).toBe(sha256Hex(payload));
		expect(Array.from(decodeWeights(payload).values)).toEqual([0.25, -0.5, 1, 0.125]);
		expect(decodeWeights(payload).dtype).toBe('f32');
		const signed = updateMessage({ roundId: 'r1', modelVersion: 4, payloadSha256: update.payloadSha256 });
		expect(verifySignature(h.keypair.publicKey, signed, fromBase64(update.signature))).toBe(true);
		expect(update).toMatchObject({ roundId: 'r1', modelVersion: 4, numSamples: 17, steps: 4, trainLoss: 0.4, trainAccuracy: 0.9 });
		// The demo pixels reach the trainer as they are: 17 rows of 784 bytes.
		expect(h.trainer.trainedData[0].count).toBe(17);
		expect(h.trainer.trainedData[0].images).toBeInstanceOf(Uint8Array);
		expect(h.trainer.trainedData[0].images.length).toBe(17 * 784);

		// Progress went out with the round id, the final batch included, and not every batch.
		expect(h.socket.progress.length).toBeGreaterThan(0);
		expect(h.socket.progress.length).toBeLessThan(8);
		expect(h.socket.progress.at(-1)).toMatchObject({ roundId: 'r1', epoch: 2, epochs: 2, batch: 4, batches: 4 });
		expect(h.session.snapshot.lastTraining).toMatchObject({ roundNumber: 1, loss: 0.4, accuracy: 0.9 });
	});

	it('re-sends the same update after a failed ack', async () => {
		const h = harness();
		let calls = 0;
		h.socket.replies.set('round:update', async () => {
			if (++calls === 1) throw new Error('operation has timed out');
			return { ok: true, roundId: 'r1', accepted: 1 };
		});
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task());
		await until(() => h.session.snapshot.upload === 'accepted', 'the re-sent update to be accepted');

		const sends = h.socket.sent('round:update') as UpdateEnvelope[];
		expect(sends).toHaveLength(2);
		expect(sends[1].payloadSha256).toBe(sends[0].payloadSha256);
		expect(h.trainer.trained).toHaveLength(1);
	});

	it('re-sends a pending update after a reconnect and login, without training again', async () => {
		const h = harness();
		let online = true;
		h.socket.replies.set('round:update', async () => {
			if (!online) throw new Error('socket has been disconnected');
			return { ok: true, roundId: 'r1', accepted: 1 };
		});
		await h.session.start();
		await ready(h);
		online = false;
		h.socket.send('round:task', task());
		// Every send fails while the connection is down.
		await until(() => h.session.snapshot.upload === 'retrying' && h.socket.sent('round:update').length >= 3, 'failed sends');
		expect(h.session.snapshot.upload).toBe('retrying');

		online = true;
		h.socket.reconnect();
		await until(() => h.session.snapshot.upload === 'accepted', 'the update after reconnect');
		expect(h.logins).toHaveLength(2);
		// The server re-sends the running round's task: the device keeps its accepted update.
		h.socket.send('round:task', task());
		await new Promise((r) => setTimeout(r, 10));
		expect(h.trainer.trained).toHaveLength(1);
	});

	it('logs in again with a fresh nonce on reconnect and keeps its identity, data and calibration', async () => {
		const h = harness();
		await h.session.start();
		await ready(h);
		h.socket.reconnect();
		await until(() => h.logins.length === 2 && h.session.snapshot.phase === 'waiting', 'the second login');

		expect(h.logins[1].deviceId).toBe(h.logins[0].deviceId);
		expect(h.logins[1].nonce).toBe(h.nonces[1]);
		const message = loginMessage({ projectId: PROJECT, deviceId: h.logins[1].deviceId, nonce: h.nonces[1] });
		expect(verifySignature(h.keypair.publicKey, message, fromBase64(h.logins[1].signature))).toBe(true);
		expect(h.fetches).toHaveLength(1);
		expect(h.trainer.inits).toHaveLength(1);
		expect(h.socket.sent('device:status')).toHaveLength(2);
	});

	it('stops for good when the project does not exist', async () => {
		const h = harness();
		h.socket.replies.set(
			'auth:challenge',
			async (): Promise<ErrorReply> => ({ ok: false, code: 'UNKNOWN_PROJECT', message: 'no such project' })
		);
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'failed', 'failure');
		expect(h.session.snapshot.error).toContain('UNKNOWN_PROJECT');
		expect(h.socket.closed).toBe(true);
	});

	it('sends its join token with the challenge, and stops for good when the server refuses the token', async () => {
		const h = harness({ joinToken: 'qjt_0123456789abcdefghij' });
		h.socket.replies.set('auth:challenge', async (): Promise<ErrorReply> => ({ ok: false, code: 'JOIN_TOKEN_INVALID', message: 'this join link was revoked' }));
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'failed', 'failure');
		expect(h.socket.sent('auth:challenge')).toEqual([expect.objectContaining({ joinToken: 'qjt_0123456789abcdefghij' })]);
		expect(h.session.snapshot.refused).toBe('JOIN_TOKEN_INVALID');
		expect(h.session.snapshot.error).toMatch(/^This join link is no longer valid: ask the coordinator for a new join link or QR code\. \(this join link was revoked\)$/);
		expect(h.socket.closed).toBe(true);

		// Without a token the page says how to get one.
		const bare = harness();
		bare.socket.replies.set('auth:challenge', async (): Promise<ErrorReply> => ({ ok: false, code: 'JOIN_TOKEN_INVALID', message: 'invite-only' }));
		await bare.session.start();
		await until(() => bare.session.snapshot.phase === 'failed', 'failure');
		expect(bare.socket.sent('auth:challenge')[0]).not.toHaveProperty('joinToken');
		expect(bare.session.snapshot.error).toMatch(/^This project is invite-only: ask the coordinator for a join link or QR code/);
	});

	it('stops for good when its device was revoked, at login or by a notice while connected', async () => {
		const refused = harness();
		refused.socket.replies.set('auth:login', async (): Promise<ErrorReply> => ({ ok: false, code: 'DEVICE_REVOKED', message: 'revoked' }));
		await refused.session.start();
		await until(() => refused.session.snapshot.phase === 'failed', 'failure');
		expect(refused.session.snapshot).toMatchObject({ refused: 'DEVICE_REVOKED', connection: 'offline' });
		expect(refused.socket.sent('auth:challenge')).toHaveLength(1);

		const h = harness();
		await h.session.start();
		await ready(h);
		h.socket.send('device:revoked', { deviceId: h.session.snapshot.deviceId!, message: 'an administrator revoked this device' });
		expect(h.session.snapshot).toMatchObject({ phase: 'failed', refused: 'DEVICE_REVOKED' });
		expect(h.session.snapshot.error).toMatch(/^An administrator revoked this device/);
		expect(h.socket.closed).toBe(true);
		// A task arriving after the notice is ignored.
		h.socket.send('round:task', task());
		await new Promise((r) => setTimeout(r, 10));
		expect(h.trainer.trained).toHaveLength(0);
	});

	it('rotates its key: both keys sign, the new one is stored after the ack, and later logins and updates use it with the same id', async () => {
		const h = harness();
		const deviceId = deviceIdFromPublicKey(h.keypair.publicKey);
		let rotations = 0;
		h.socket.replies.set('auth:rotate-key', async () => (++rotations === 1 ? { ok: false, code: 'BAD_SIGNATURE', message: 'no' } : { ok: true, keyCreatedAt: '2024-06-01T00:00:00.000Z' }));
		await h.session.start();
		await ready(h);

		// A refused rotation keeps the old key and drops the one staged for it.
		await expect(h.session.rotateKey()).rejects.toThrow(/key rotation refused: BAD_SIGNATURE/);
		expect(h.identity.replaced).toHaveLength(0);
		expect(h.identity.staged).toHaveLength(1);
		expect(h.identity.identity.pending).toBeNull();

		await expect(h.session.rotateKey()).resolves.toEqual({ keyCreatedAt: '2024-06-01T00:00:00.000Z' });
		const request = h.socket.sent('auth:rotate-key')[1] as RequestOf<'auth:rotate-key'>;
		const message = rotateKeyMessage({ projectId: PROJECT, deviceId, newPublicKey: request.newPublicKey });
		const newKey = fromBase64(request.newPublicKey);
		expect(verifySignature(h.keypair.publicKey, message, fromBase64(request.signature))).toBe(true);
		expect(verifySignature(newKey, message, fromBase64(request.newSignature))).toBe(true);
		expect(h.identity.replaced).toHaveLength(1);
		expect(h.identity.replaced[0]).toMatchObject({ deviceId, publicKey: newKey });
		expect(h.session.snapshot.deviceId).toBe(deviceId);

		// The next login presents the new key with the kept id; updates are signed by the new key.
		h.socket.reconnect();
		await until(() => h.logins.length === 2 && h.session.snapshot.phase === 'waiting', 'the login after rotation');
		const challenge = h.socket.sent('auth:challenge')[1] as RequestOf<'auth:challenge'>;
		expect(challenge).toMatchObject({ publicKey: request.newPublicKey, deviceId });
		const login = h.logins[1];
		expect(verifySignature(newKey, loginMessage({ projectId: PROJECT, deviceId, nonce: login.nonce }), fromBase64(login.signature))).toBe(true);
		h.socket.send('round:task', task('r1', 4));
		await until(() => h.session.snapshot.upload === 'accepted', 'the update');
		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		const signed = updateMessage({ roundId: 'r1', modelVersion: 4, payloadSha256: update.payloadSha256 });
		expect(verifySignature(newKey, signed, fromBase64(update.signature))).toBe(true);
	});

	it('stages the new key before sending: when the server took it but the ack was lost, the next login uses it and keeps it', async () => {
		const h = harness();
		const deviceId = deviceIdFromPublicKey(h.keypair.publicKey);
		// The server's record of the device's key: a challenge for any other key is refused.
		let serverKey = toBase64(h.keypair.publicKey);
		const normal = h.socket.replies.get('auth:challenge')!;
		h.socket.replies.set('auth:challenge', async (p) => {
			const req = p as RequestOf<'auth:challenge'>;
			if (req.publicKey !== serverKey) return { ok: false, code: 'UNAUTHENTICATED', message: `this is not the current key of device ${deviceId}` };
			return normal(p);
		});
		h.socket.replies.set('auth:rotate-key', async (p) => {
			expect(h.identity.staged).toHaveLength(1);
			serverKey = (p as RequestOf<'auth:rotate-key'>).newPublicKey;
			throw new Error('operation has timed out');
		});
		await h.session.start();
		await ready(h);

		await expect(h.session.rotateKey()).rejects.toThrow(/timed out/);
		const request = h.socket.sent('auth:rotate-key')[0] as RequestOf<'auth:rotate-key'>;
		const newKey = fromBase64(request.newPublicKey);
		expect(h.identity.replaced).toHaveLength(0);
		expect(h.identity.identity.pending).toMatchObject({ deviceId, publicKey: newKey });
		// Unsettled: another rotation now could replace the key the server holds.
		await expect(h.session.rotateKey()).rejects.toThrow(/got no answer/);

		h.socket.reconnect();
		await until(() => h.logins.length === 2 && h.session.snapshot.phase === 'waiting', 'the login with the staged key');
		const [, refused, retried] = h.socket.sent('auth:challenge') as RequestOf<'auth:challenge'>[];
		expect(refused.publicKey).toBe(toBase64(h.keypair.publicKey));
		expect(retried).toMatchObject({ publicKey: request.newPublicKey, deviceId });
		expect(verifySignature(newKey, loginMessage({ projectId: PROJECT, deviceId, nonce: h.logins[1].nonce }), fromBase64(h.logins[1].signature))).toBe(true);
		// Promoted: the staged key is the device's key now, and nothing is staged any more.
		expect(h.identity.replaced).toHaveLength(1);
		expect(h.identity.identity).toEqual({ publicKey: newKey, secretKey: expect.any(Uint8Array), deviceId });
		expect(h.session.snapshot.deviceId).toBe(deviceId);
		h.socket.send('round:task', task('r1', 4));
		await until(() => h.session.snapshot.upload === 'accepted', 'the update');
		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		expect(verifySignature(newKey, updateMessage({ roundId: 'r1', modelVersion: 4, payloadSha256: update.payloadSha256 }), fromBase64(update.signature))).toBe(true);

		// Settled: rotating again works.
		h.socket.replies.set('auth:rotate-key', async () => ({ ok: true, keyCreatedAt: '2024-06-01T00:00:00.000Z' }));
		await expect(h.session.rotateKey()).resolves.toEqual({ keyCreatedAt: '2024-06-01T00:00:00.000Z' });
	});

	it('drops a staged key at login when the server refuses it as well as the current key', async () => {
		const h = harness();
		const deviceId = deviceIdFromPublicKey(h.keypair.publicKey);
		const staged: RotatedKey = { ...generateDeviceKeypair(new Uint8Array(32).fill(5)), deviceId };
		// Restarted after a rotation whose answer was lost.
		h.identity.identity = { ...h.keypair, pending: staged };
		h.socket.replies.set('auth:challenge', async () => ({ ok: false, code: 'UNAUTHENTICATED', message: 'this is not the current key' }));
		await h.session.start();
		await until(() => h.socket.sent('auth:challenge').length >= 3, 'a login retried after both keys were refused');
		h.session.stop();
		const [first, second, third] = h.socket.sent('auth:challenge') as RequestOf<'auth:challenge'>[];
		expect(first.publicKey).toBe(toBase64(h.keypair.publicKey));
		expect(second).toMatchObject({ publicKey: toBase64(staged.publicKey), deviceId });
		// Dropped: the retry presents the current key alone.
		expect(third.publicKey).toBe(toBase64(h.keypair.publicKey));
		expect(h.identity.identity.pending).toBeNull();
		expect(h.identity.replaced).toHaveLength(0);
		expect(h.session.snapshot.error).toMatch(/UNAUTHENTICATED/);
	});

	it('signs an update still waiting for its ack again after a key rotation', async () => {
		const h = harness();
		let release: () => void = () => undefined;
		let calls = 0;
		h.socket.replies.set('round:update', async () => {
			if (++calls === 1) {
				await new Promise<void>((r) => (release = r));
				throw new Error('operation has timed out');
			}
			return { ok: true, roundId: 'r1', accepted: 1 };
		});
		h.socket.replies.set('auth:rotate-key', async () => ({ ok: true, keyCreatedAt: '2024-06-01T00:00:00.000Z' }));
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r1', 4));
		await until(() => calls === 1, 'the first send');
		await h.session.rotateKey();
		release();
		await until(() => h.session.snapshot.upload === 'accepted', 'the re-sent update');
		const sends = h.socket.sent('round:update') as UpdateEnvelope[];
		const newKey = h.identity.replaced[0].publicKey;
		const signed = updateMessage({ roundId: 'r1', modelVersion: 4, payloadSha256: sends[1].payloadSha256 });
		expect(verifySignature(h.keypair.publicKey, signed, fromBase64(sends[0].signature))).toBe(true);
		expect(verifySignature(newKey, signed, fromBase64(sends[1].signature))).toBe(true);
	});

	it('retries a login refused for a passing reason', async () => {
		const h = harness();
		let refusals = 0;
		const normal = h.socket.replies.get('auth:login')!;
		h.socket.replies.set('auth:login', async (p) =>
			++refusals === 1 ? { ok: false, code: 'REPLAY', message: 'nonce used' } : normal(p)
		);
		await h.session.start();
		await ready(h);
		expect(h.socket.sent('auth:challenge')).toHaveLength(2);
	});

	it('records round results and whether this device contributed', async () => {
		const h = harness();
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task());
		await until(() => h.session.snapshot.upload === 'accepted', 'accepted');
		h.socket.send('round:closed', {
			roundId: 'r1',
			roundNumber: 1,
			status: 'committed',
			modelVersion: 1,
			metrics: { testAccuracy: 0.91, testLoss: 0.3, trainLoss: 0.4, trainAccuracy: 0.9 }
		});
		expect(h.session.snapshot.results[0]).toMatchObject({ roundNumber: 1, testAccuracy: 0.91, contributed: true });
	});

	it('counts an update whose ack comes after its round closed (a round resumed after a crash closes meanwhile)', async () => {
		const h = harness();
		let release: () => void = () => undefined;
		h.socket.replies.set('round:update', async () => {
			await new Promise<void>((r) => (release = r));
			return { ok: true, roundId: 'r1', accepted: 4 };
		});
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task());
		await until(() => h.socket.sent('round:update').length === 1, 'the send');
		h.socket.send('round:closed', closedRound('r1', 1));
		expect(h.session.snapshot.results[0]).toMatchObject({ roundId: 'r1', contributed: false });
		release();
		await until(() => h.session.snapshot.results[0]?.contributed === true, 'the late ack to mark the result');
		expect(h.session.snapshot.log.some((e) => e.message === 'round 1: update accepted')).toBe(true);
	});

	it('sends a newer round\'s update once an older send in flight is answered', async () => {
		const h = harness();
		let release: () => void = () => undefined;
		h.socket.replies.set('round:update', async (payload) => {
			const { roundId } = payload as UpdateEnvelope;
			if (roundId === 'r1') await new Promise<void>((r) => (release = r));
			return { ok: true, roundId, accepted: 1 };
		});
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r1', 0));
		await until(() => h.socket.sent('round:update').length === 1, 'the first send');
		h.socket.send('round:closed', closedRound('r1', 1));
		h.socket.send('round:task', task('r2', 1));
		await until(() => h.trainer.trained.length === 2, 'the second training');
		release();
		await until(() => h.socket.sent('round:update').length === 2, 'the second update to be sent');
		await until(() => h.session.snapshot.upload === 'accepted', 'the second ack');
		expect((h.socket.sent('round:update') as UpdateEnvelope[]).map((e) => e.roundId)).toEqual(['r1', 'r2']);
	});

	it('evaluates a committed model on the demo hold-out and reports it', async () => {
		const h = harness();
		h.trainer.score = {
			n: 3,
			loss: 0.25,
			classification: {
				correct: 2,
				truePositives: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
				falsePositives: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
				falseNegatives: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
			}
		};
		await h.session.start();
		await ready(h);
		h.socket.send('model:evaluate', evaluation('r1', 1));
		await until(() => h.socket.sent('eval:report').length === 1, 'the evaluation report');

		expect(h.trainer.evaluated).toHaveLength(1);
		const [call] = h.trainer.evaluated;
		expect(Array.from(call.weights)).toEqual([1, 2, 3, 4]);
		expect(call.data.count).toBe(3);
		expect(call.scale).toBeNull();
		expect(h.socket.sent('eval:report')).toEqual([{ ...h.trainer.score, modelVersion: 1, roundId: 'r1' }]);
		await until(() => h.session.snapshot.evaluations[0]?.delivery === 'accepted', 'the report to be acknowledged');
		expect(h.session.snapshot.evaluations[0]).toMatchObject({ modelVersion: 1, roundNumber: 1, n: 3, accuracy: 2 / 3, mae: null });
		expect(h.session.snapshot.globalModel?.modelVersion).toBe(1);
		expect(Array.from(h.session.snapshot.globalModel!.weights)).toEqual([1, 2, 3, 4]);
	});
});

describe('ParticipantSession with local data', () => {
	it('reports its statistics before its status, with training rows and their label counts', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		await h.session.start();
		await ready(h);

		const events = h.socket.requests.map((r) => r.event);
		expect(events).toEqual(['auth:challenge', 'auth:login', 'data:stats', 'device:status']);
		expect(h.socket.sent('data:stats')).toEqual([{ columns: { age: { count: 12, sum: 156, sumSquares: 2088 } } }]);
		// Training rows only: labels 1, 0, 1, 1 three times (the hold-out's are not counted).
		expect(h.socket.sent('device:status')).toEqual([
			{ backend: 'wasm', backendReason: 'wasm 7 ms/step beat cpu 28 ms/step', samples: 12, labelHistogram: [3, 9] }
		]);
		expect(h.fetches).toEqual([]);
		expect(h.trainer.inits).toEqual([{ model: 'logistic', kind: 'tabular' }]);
		expect(h.session.snapshot).toMatchObject({ samples: 12, holdOutSamples: 2 });
	});

	it('reports no statistics for images, which have no numeric columns (so even 3 rows may train)', async () => {
		const task: ImageClassificationTask = { kind: 'image-classification', classes: ['cat', 'dog'], width: 2, height: 2, channels: 1 };
		const pixels = (rows: number) => new Uint8Array(rows * 4).map((_, i) => i);
		const local: PreparedData = {
			task,
			train: { count: 3, inputs: pixels(3), targets: new Uint8Array([1, 1, 0]) },
			holdOut: { count: 1, inputs: pixels(1), targets: new Uint8Array([0]) },
			stats: { columns: {} },
			labelHistogram: [1, 2],
			summary: { source: 'pets', rows: 4, columns: [], preview: [], trainCount: 3, holdOutCount: 1, gapWindows: 0, skipped: [] }
		};
		const h = harness({ project: { ...LOCAL_VIEW, model: 'cnn-small', task }, local });
		await h.session.start();
		await ready(h);
		expect(h.socket.requests.map((r) => r.event)).toEqual(['auth:challenge', 'auth:login', 'device:status']);
		expect(h.socket.sent('device:status')[0]).toMatchObject({ samples: 3, labelHistogram: [1, 2] });
	});

	it('trains on standardised rows and reports the hold-out evaluation after the round', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r1', 0, AGE_SCALE));
		await until(() => h.session.snapshot.upload === 'accepted', 'the update');

		// age (10, 12, 14, 16, three times) scaled by mean 12, std 2; the one-hot columns stay 0/1.
		const trained = h.trainer.trainedData[0];
		expect(trained.count).toBe(12);
		expect(Array.from(trained.images)).toEqual(thrice([-1, 1, 0, 0, 0, 1, 1, 1, 0, 2, 0, 1]));
		expect(Array.from(trained.labels)).toEqual(thrice([1, 0, 1, 1]));

		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.socket.sent('eval:report').length === 1, 'the evaluation report');
		const [call] = h.trainer.evaluated;
		expect(Array.from(call.data.images)).toEqual([-2, 1, 0, 4, 0, 1]);
		expect(Array.from(call.data.labels)).toEqual([0, 1]);
		const [report] = h.socket.sent('eval:report') as EvaluationReportMessage[];
		expect(report).toEqual({
			roundId: 'r1',
			modelVersion: 1,
			n: 2,
			loss: 0.5,
			classification: { correct: 1, truePositives: [1, 0], falsePositives: [1, 0], falseNegatives: [0, 1] }
		});
		// Class "no": precision 1/2, recall 1, F1 2/3; class "yes": F1 0.
		await until(() => h.session.snapshot.evaluations[0]?.delivery === 'accepted', 'the acknowledgement');
		expect(h.session.snapshot.evaluations[0]).toMatchObject({ modelVersion: 1, n: 2, loss: 0.5, accuracy: 0.5 });
		expect(h.session.snapshot.evaluations[0].macroF1).toBeCloseTo(1 / 3, 12);
	});

	it('sends a null training accuracy and target-unit scale for regression', async () => {
		const regression: TabularTask = { ...TABULAR, objective: { type: 'regression', loss: 'mse' } };
		const data = tabularData();
		const local: PreparedData = {
			...data,
			task: regression,
			train: { ...data.train, targets: new Float32Array(thrice([100, 120, 140, 160])) },
			holdOut: { ...data.holdOut!, targets: new Float32Array([90, 200]) },
			stats: { columns: { age: data.stats.columns.age, label: { count: 12, sum: 3 * 520, sumSquares: 3 * 70_400 } } },
			labelHistogram: null
		};
		const scale: Standardization = { columns: { age: { mean: 12, std: 2 }, label: { mean: 130, std: 20 } }, rows: 4, devices: 1 };
		const h = harness({ project: { ...LOCAL_VIEW, task: regression }, local });
		h.trainer.accuracy = null;
		h.trainer.score = { n: 2, loss: 0.3, regression: { values: 2, absErrorSum: 30, squaredErrorSum: 500 } };
		await h.session.start();
		await ready(h);
		expect(h.socket.sent('device:status')[0]).not.toHaveProperty('labelHistogram');

		h.socket.send('round:task', task('r1', 0, scale));
		await until(() => h.session.snapshot.upload === 'accepted', 'the update');
		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		expect(update.trainAccuracy).toBeNull();
		expect(Array.from(h.trainer.trainedData[0].labels)).toEqual(thrice([-1.5, -0.5, 0.5, 1.5]));
		expect(h.session.snapshot.lastTraining?.accuracy).toBeNull();

		h.socket.send('model:evaluate', evaluation('r1', 1, scale));
		await until(() => h.socket.sent('eval:report').length === 1, 'the evaluation report');
		expect(h.trainer.evaluated[0].scale).toEqual({ mean: 130, std: 20 });
		await until(() => h.session.snapshot.evaluations.length === 1, 'the evaluation');
		expect(h.session.snapshot.evaluations[0]).toMatchObject({ accuracy: null, macroF1: null, mae: 15, rmse: Math.sqrt(250) });
	});

	it('queues an evaluation behind the training in progress: one trainer, one job at a time', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		let release: () => void = () => undefined;
		h.trainer.gate = new Promise((r) => (release = r));
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r2', 1, AGE_SCALE));
		await until(() => h.session.snapshot.phase === 'training', 'training');
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await new Promise((r) => setTimeout(r, 10));
		expect(h.trainer.evaluated).toHaveLength(0);

		release();
		await until(() => h.socket.sent('eval:report').length === 1, 'the evaluation after training');
		expect(h.trainer.maxRunning).toBe(1);
		// A re-sent request for the same model is not scored twice.
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await new Promise((r) => setTimeout(r, 10));
		expect(h.trainer.evaluated).toHaveLength(1);
	});

	it('re-sends an evaluation report whose ack timed out while still connected, until it is acknowledged', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		let timeouts = 1;
		h.socket.replies.set('eval:report', async () => {
			if (timeouts-- > 0) throw new Error('operation has timed out');
			return { ok: true };
		});
		await h.session.start();
		await ready(h);
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.session.snapshot.evaluations[0]?.delivery === 'accepted', 'the report to be acknowledged');
		expect(h.logins).toHaveLength(1);
		expect(h.socket.sent('eval:report')).toEqual([
			{ ...h.trainer.score, modelVersion: 1, roundId: 'r1' },
			{ ...h.trainer.score, modelVersion: 1, roundId: 'r1' }
		]);
		// Acknowledged: a reconnect sends it no more.
		h.socket.reconnect();
		await until(() => h.logins.length === 2 && h.session.snapshot.phase === 'waiting', 'the second login');
		await new Promise((r) => setTimeout(r, 10));
		expect(h.socket.sent('eval:report')).toHaveLength(2);
	});

	it('re-sends every unacknowledged evaluation report after reconnecting, with a few tries per connection', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		let acking = false;
		h.socket.replies.set('eval:report', async () => {
			if (!acking) throw new Error('operation has timed out');
			return { ok: true };
		});
		await h.session.start();
		await ready(h);
		// Two committed models scored while the server's acks do not arrive: each tried 3 times.
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.socket.sent('eval:report').length === 3, 'the first report\'s tries');
		h.socket.send('model:evaluate', { ...evaluation('r2', 2, AGE_SCALE), roundNumber: 2 });
		await until(() => h.socket.sent('eval:report').length === 6 && h.session.snapshot.phase === 'waiting', 'the second report\'s tries');
		await new Promise((r) => setTimeout(r, 10));
		expect(h.socket.sent('eval:report')).toHaveLength(6);
		expect(h.session.snapshot.evaluations.map((e) => e.delivery)).toEqual(['sending', 'sending']);

		acking = true;
		h.socket.reconnect();
		await until(() => h.session.snapshot.evaluations.every((e) => e.delivery === 'accepted'), 'both reports to be acknowledged');
		const resent = (h.socket.sent('eval:report') as EvaluationReportMessage[]).slice(6);
		expect(resent.map((r) => [r.roundId, r.modelVersion]).sort()).toEqual([
			['r1', 1],
			['r2', 2]
		]);
		// Nothing is left to re-send on the next reconnect.
		h.socket.reconnect();
		await until(() => h.logins.length === 3 && h.session.snapshot.phase === 'waiting', 'the third login');
		await new Promise((r) => setTimeout(r, 10));
		expect(h.socket.sent('eval:report')).toHaveLength(8);
		expect(h.trainer.evaluated).toHaveLength(2);
	});

	it('sends only the counts and sums of its statistics, whatever else the stored copy holds', async () => {
		const data = tabularData();
		// A stored copy from another version carrying more than the protocol's sums.
		const stats = { columns: { age: { ...data.stats.columns.age, values: thrice([10, 12, 14, 16]) } }, rows: [[10, 'red']] };
		const h = harness({ project: LOCAL_VIEW, local: { ...data, stats: stats as unknown as FeatureStatsReport } });
		await h.session.start();
		await ready(h);
		expect(h.socket.sent('data:stats')).toEqual([{ columns: { age: { count: 12, sum: 156, sumSquares: 2088 } } }]);
	});

	it('shows the update still on its way when an evaluation ends before its acknowledgement', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		let ack: () => void = () => undefined;
		h.socket.replies.set('round:update', () => new Promise((resolve) => (ack = () => resolve({ ok: true, roundId: 'r2', accepted: 1 }))));
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', task('r2', 1, AGE_SCALE));
		await until(() => h.socket.sent('round:update').length === 1, 'the upload');
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.session.snapshot.evaluations[0]?.delivery === 'accepted', 'the evaluation');
		expect(h.session.snapshot.phase).toBe('uploading');
		ack();
		await until(() => h.session.snapshot.upload === 'accepted', 'the acknowledgement');
		expect(h.session.snapshot.phase).toBe('waiting');
	});

	it('scores a model again when the server asks again after an evaluation failed', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		const score = h.trainer.score;
		let failures = 1;
		h.trainer.evaluateHoldOut = async (weights, data, scale) => {
			h.trainer.evaluated.push({ weights, data, scale });
			if (failures-- > 0) throw new Error('the backend lost its context');
			return score;
		};
		await h.session.start();
		await ready(h);
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => /evaluating model v1 failed: the backend lost its context/.test(h.session.snapshot.error ?? ''), 'the failure');
		expect(h.socket.sent('eval:report')).toEqual([]);

		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.socket.sent('eval:report').length === 1, 'the report after the second request');
		expect(h.trainer.evaluated).toHaveLength(2);
	});

	it('does not report a score that is not a number', async () => {
		const h = harness({ project: LOCAL_VIEW, local: tabularData() });
		h.trainer.score = { ...h.trainer.score, loss: Number.NaN };
		await h.session.start();
		await ready(h);
		h.socket.send('model:evaluate', evaluation('r1', 1, AGE_SCALE));
		await until(() => h.session.snapshot.evaluations.length === 1, 'the evaluation');
		expect(h.session.snapshot.evaluations[0].delivery).toBe('not-sent');
		expect(h.socket.sent('eval:report')).toEqual([]);
	});

	const nothingAboutData = (h: Harness) =>
		expect(h.socket.requests.map((r) => r.event)).toEqual(['auth:challenge', 'auth:login']);

	it('asks for data and sends nothing about it when none was imported', async () => {
		const h = harness({ project: LOCAL_VIEW, local: null });
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'needs-data', 'the request for data');
		expect(h.session.snapshot.error).toMatch(/import your data first/);
		nothingAboutData(h);
		expect(h.socket.closed).toBe(true);
		expect(h.trainer.inits).toEqual([]);
		expect(h.fetches).toEqual([]);
	});

	it.each<[string, (d: PreparedData) => PreparedData, RegExp]>([
		[
			'data prepared for another task',
			(d) => ({ ...d, task: { ...TABULAR, objective: { type: 'classification', classes: ['a', 'b', 'c'] } } }),
			/prepared for a different task/
		],
		['rows of the wrong width', (d) => ({ ...d, train: { ...d.train, inputs: new Float32Array(8) } }), /training inputs hold 8 values, expected 12 rows x 3/],
		['a label outside the classes', (d) => ({ ...d, train: { ...d.train, targets: new Uint8Array(thrice([0, 1, 2, 1])) } }), /class index outside the 2 classes/],
		['statistics of other columns', (d) => ({ ...d, stats: { columns: {} } as FeatureStatsReport }), /statistics cover \[\], expected \[age\]/],
		['statistics that are not sums', (d) => ({ ...d, stats: { columns: { age: { count: 12, sum: Number.NaN, sumSquares: 2088 } } } }), /statistics are not valid counts and sums/],
		['a value that is not a number', (d) => ({ ...d, holdOut: { ...d.holdOut!, inputs: new Float32Array([Number.NaN, 1, 0, 20, 0, 1]) } }), /hold-out inputs contain values that are not finite/]
	])('refuses %s and sends nothing about it', async (_name, spoil, message) => {
		const h = harness({ project: LOCAL_VIEW, local: spoil(tabularData()) });
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'needs-data', 'the refusal');
		expect(h.session.snapshot.error).toMatch(message);
		nothingAboutData(h);
	});

	it('refuses to share the sums of fewer than 10 training rows, which could give the rows away, and sends nothing', async () => {
		const h = harness({ project: LOCAL_VIEW, local: firstRows(9) });
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'needs-data', 'the refusal');
		expect(h.session.snapshot.error).toBe(
			'the data on this device does not fit project "Clinic": this project needs at least 10 training rows on each device so that ' +
				'the column sums it shares cannot reveal single rows; this file has 9 besides the rows held out for evaluation'
		);
		nothingAboutData(h);
		expect(h.socket.closed).toBe(true);
		expect(h.trainer.inits).toEqual([]);

		// Ten rows are enough: their sums go out (10, 12, 14, 16, 10, 12, 14, 16, 10, 12).
		const enough = harness({ project: LOCAL_VIEW, local: { ...firstRows(10), holdOut: null } });
		await enough.session.start();
		await ready(enough);
		expect(enough.socket.sent('data:stats')).toEqual([{ columns: { age: { count: 10, sum: 126, sumSquares: 1636 } } }]);
	});

	it('asks for the data again when the stored data cannot be read', async () => {
		const h = harness({
			project: LOCAL_VIEW,
			data: {
				load: async () => {
					throw new Error('bad cache');
				}
			}
		});
		await h.session.start();
		await until(() => h.session.snapshot.phase === 'needs-data', 'the refusal');
		expect(h.session.snapshot.error).toMatch(/cannot be read \(bad cache\): import it again/);
		nothingAboutData(h);
	});
});

describe('ParticipantSession update encodings', () => {
	it('encodes the update as the task asks (f16 here), signing the encoded payload', async () => {
		const h = harness();
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', { ...task('r1', 2), updateEncoding: { kind: 'f16' } });
		await until(() => h.session.snapshot.upload === 'accepted', 'the update');
		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		const payload = new Uint8Array(update.payload as ArrayBuffer);
		expect(decodeWeights(payload).dtype).toBe('f16');
		// 0.25, -0.5, 1 and 0.125 are exact in f16.
		expect(Array.from(decodeWeights(payload).values)).toEqual([0.25, -0.5, 1, 0.125]);
		expect(update.payloadSha256).toBe(sha256Hex(payload));
		expect(update.numSamples).toBe(17);
	});
});

describe('ParticipantSession in a secure round', () => {
	// The harness device is roster entry 1 of 4 on a ring (degree 2, threshold 2); three
	// SecureRoundClients play the other devices, the test plays the server.
	const others = [11, 12, 13].map((n) => generateDeviceKeypair(new Uint8Array(32).fill(n)));
	const me = generateDeviceKeypair(SEED);
	const devices = [others[0], me, others[1], others[2]];
	const roster = devices.map((d) => deviceIdFromPublicKey(d.publicKey));
	const graphSeed = new Uint8Array(32).fill(5);
	const graph = createNeighbourGraph(4, 2, graphSeed);
	const fixedPoint = chooseFixedPoint({ maxClients: 4, maxSamplesPerClient: 100, clip: 1 });
	const setup: SecureRoundSetup = {
		roster,
		graphSeed: toBase64(graphSeed),
		degree: 2,
		threshold: 2,
		fixedPoint,
		weighting: 'samples',
		noiseStd: null
	};
	const secureTask = (): RoundTask => ({ ...task('s1', 3), secure: setup });
	const otherDelta = (i: number) => new Float32Array([0.1 * i, -0.2, 0.3, 0.05 * i]);

	function secureHarness() {
		const h = harness();
		h.socket.replies.set('secagg:keys', async () => ({ ok: true }));
		h.socket.replies.set('secagg:shares', async () => ({ ok: true }));
		h.socket.replies.set('secagg:reveal', async () => ({ ok: true }));
		h.socket.replies.set('round:update', async () => ({ ok: true, roundId: 's1', accepted: 1 }));
		const clients = new Map(
			[0, 2, 3].map((i) => [i, new SecureRoundClient({ roundId: 's1', setup, deviceId: roster[i], deviceSecretKey: devices[i].secretKey })])
		);
		return { h, clients };
	}

	const neighbours = (u: number, keys: ReadonlyMap<number, SecureKeysMessage>) => ({
		roundId: 's1',
		neighbours: graph.neighbours(u).map((v) => ({ index: v, deviceId: roster[v], devicePublicKey: toBase64(devices[v].publicKey), ...keys.get(v)! }))
	});
	const relay = (u: number, shares: ReadonlyMap<number, SecureSharesMessage>) => ({
		roundId: 's1',
		active: [...graph.neighbours(u)],
		ciphertexts: graph.neighbours(u).flatMap((v) => shares.get(v)!.ciphertexts.filter((c) => c.to === u).map((c) => ({ from: v, ciphertext: c.ciphertext }))),
		envelopes: graph.neighbours(u).flatMap((v) => shares.get(v)!.envelopes.filter((e) => e.to === u).map((e) => ({ from: v, envelope: e.envelope })))
	});

	it('sends signed keys with the task, shares on the neighbours, and a masked update after training and the relay that unmasks to the weighted mean', async () => {
		const { h, clients } = secureHarness();
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', secureTask());
		await until(() => h.socket.sent('secagg:keys').length === 1, 'the keys');
		const [myKeys] = h.socket.sent('secagg:keys') as SecureKeysMessage[];
		const signed = secaggKeysMessage({ roundId: 's1', deviceId: roster[1], maskPublicKey: myKeys.maskPublicKey, channelPublicKey: myKeys.channelPublicKey });
		expect(verifySignature(me.publicKey, signed, fromBase64(myKeys.signature))).toBe(true);
		expect(h.session.snapshot.secure).toEqual({ roundId: 's1', phase: 'keys', neighbours: 0 });

		const keys = new Map<number, SecureKeysMessage>([[1, myKeys], ...[...clients].map(([i, c]) => [i, c.keysMessage()] as const)]);
		h.socket.send('secagg:neighbours', neighbours(1, keys));
		await until(() => h.socket.sent('secagg:shares').length === 1, 'the shares');
		// Trained meanwhile, but nothing goes out before the relay.
		await until(() => h.trainer.trained.length === 1 && h.session.snapshot.phase === 'waiting', 'the training');
		expect(h.socket.sent('round:update')).toEqual([]);
		expect(h.session.snapshot.secure).toEqual({ roundId: 's1', phase: 'shares', neighbours: 2 });
		// A re-sent neighbours message (after a reconnect) gets the very same shares.
		h.socket.send('secagg:neighbours', neighbours(1, keys));
		await until(() => h.socket.sent('secagg:shares').length === 2, 'the repeated shares');
		const [mine, again] = h.socket.sent('secagg:shares') as SecureSharesMessage[];
		expect(again).toEqual(mine);

		const shares = new Map<number, SecureSharesMessage>([[1, mine]]);
		for (const [i, c] of clients) shares.set(i, (await c.onNeighbours(neighbours(i, keys)))!);
		for (const [i, c] of clients) expect(await c.onRelay(relay(i, shares))).toBe(true);
		h.socket.send('secagg:relay', relay(1, shares));
		await until(() => h.session.snapshot.upload === 'accepted', 'the masked update');

		const [update] = h.socket.sent('round:update') as UpdateEnvelope[];
		const payload = new Uint8Array(update.payload as ArrayBuffer);
		expect(update.numSamples).toBe(1);
		expect(update.payloadSha256).toBe(sha256Hex(payload));
		expect(verifySignature(me.publicKey, updateMessage({ roundId: 's1', modelVersion: 3, payloadSha256: update.payloadSha256 }), fromBase64(update.signature))).toBe(true);
		expect(() => decodeWeights(payload)).toThrow();
		expect(h.session.snapshot.secure).toEqual({ roundId: 's1', phase: 'masked', neighbours: 2 });

		const others = await Promise.all([...clients].map(async ([i, c]) => decodeMaskedWords(await c.maskedPayload(otherDelta(i), 10 * i, null))));
		const masked = [decodeMaskedWords(payload), ...others];
		const request = { roundId: 's1', uploaded: [0, 1, 2, 3], dropped: [] };
		h.socket.send('secagg:unmask', request);
		await until(() => h.socket.sent('secagg:reveal').length === 1, 'the reveal');
		const reveals = [...(h.socket.sent('secagg:reveal') as SecureRevealMessage[]), ...[...clients.values()].map((c) => c.reveal(request)!)];
		const selfSeeds = [0, 1, 2, 3].map((u) =>
			combineShares(reveals.flatMap((r) => r.shares.filter((s) => s.of === u && s.kind === 'self').map((s) => decodeShare(fromBase64(s.share)))))
		);
		const { mean, totalSamples } = decodeSum(unmaskSum(sumModular(masked), { selfSeeds, droppedPairs: [] }), fixedPoint);
		// This device: Δ = (0.25, -0.5, 1, 0.125) on 17 rows; device i: otherDelta(i) on 10 i rows.
		expect(totalSamples).toBe(17 + 10 * (0 + 2 + 3));
		const expected = [0, 1, 2, 3].map((j) => (17 * [0.25, -0.5, 1, 0.125][j] + [0, 2, 3].reduce((s, i) => s + 10 * i * otherDelta(i)[j], 0)) / 67);
		mean.forEach((m, j) => expect(Math.abs(m - expected[j])).toBeLessThan(1e-6));
		expect(h.session.snapshot.secure?.phase).toBe('revealed');

		// Naming a participant the other way round later is refused: nothing more is revealed.
		h.socket.send('secagg:unmask', { roundId: 's1', uploaded: [0, 1, 3], dropped: [2] });
		await new Promise((r) => setTimeout(r, 5));
		expect(h.socket.sent('secagg:reveal')).toHaveLength(1);
		const messages = h.session.snapshot.log.map((e) => e.message);
		expect(messages).toContain('round 1: secure round: unmasking request refused: participant 2 was named uploaded before');
		expect(messages).toContain('round 1: 2 shares revealed for unmasking the sum');

		h.socket.send('round:closed', closedRound('s1', 1));
		expect(h.session.snapshot.secure).toBeNull();
		expect(h.session.snapshot.results[0]).toMatchObject({ roundId: 's1', contributed: true });
		// The secrets are gone: a late message for the round is ignored.
		h.socket.send('secagg:unmask', request);
		await new Promise((r) => setTimeout(r, 5));
		expect(h.socket.sent('secagg:reveal')).toHaveLength(1);
	});

	it('ignores messages for other rounds and malformed ones, and sends keys again when the task is re-sent before they were acknowledged', async () => {
		const { h } = secureHarness();
		let keyCalls = 0;
		h.socket.replies.set('secagg:keys', async () => {
			if (++keyCalls === 1) throw new Error('operation has timed out');
			return { ok: true };
		});
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', secureTask());
		await until(() => h.trainer.trained.length === 1 && h.session.snapshot.phase === 'waiting', 'the training');
		h.socket.send('round:task', secureTask());
		await until(() => keyCalls === 2, 'the keys again');
		const [first, second] = h.socket.sent('secagg:keys');
		expect(second).toEqual(first);
		expect(h.trainer.trained).toHaveLength(1);

		h.socket.send('secagg:neighbours', { roundId: 'other', neighbours: [] });
		h.socket.send('secagg:relay', { roundId: 's1', active: 'all' } as never);
		await new Promise((r) => setTimeout(r, 5));
		expect(h.socket.sent('secagg:shares')).toEqual([]);
		expect(h.session.snapshot.log[0].message).toBe('malformed secure relay message ignored');
	});

	it('does not train a secure round it is not listed in', async () => {
		const { h } = secureHarness();
		await h.session.start();
		await ready(h);
		h.socket.send('round:task', { ...secureTask(), secure: { ...setup, roster: [roster[0], roster[2], roster[3]] } });
		await new Promise((r) => setTimeout(r, 5));
		expect(h.trainer.trained).toEqual([]);
		expect(h.socket.sent('secagg:keys')).toEqual([]);
		expect(h.session.snapshot.log[0].message).toBe(
			"round 1: cannot take part in secure aggregation (this device is not in the round's roster); not training"
		);
	});
});
