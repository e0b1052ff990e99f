import { describe, expect, it } from 'vitest';
import {
	encodeShard,
	encodeWeights,
	decodeWeights,
	type ErrorReply,
	type LabelledSet,
	type LoginReply,
	type ParticipantServerEvents,
	type RoundTask,
	type TrainingProgress,
	type UpdateEnvelope
} from '@qflare/protocol';
import {
	deviceIdFromPublicKey,
	fromBase64,
	generateDeviceKeypair,
	loginMessage,
	sha256Hex,
	updateMessage,
	verifySignature,
	type DeviceKeypair
} from '@qflare/pq';
import { ParticipantSession, shardCacheKey, type ParticipantState } from './session';
import type {
	AckEvent,
	Calibration,
	ConnectionHandlers,
	LocalHyperparams,
	LocalProgress,
	LocalTrainResult,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
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
	inits = 0;
	trained: Float32Array[] = [];
	seeds: number[] = [];
	async init(): Promise<Calibration> {
		this.inits++;
		return { backend: 'wasm', reason: 'wasm 7 ms/step beat cpu 28 ms/step' };
	}
	async train(
		globalWeights: Float32Array,
		data: LabelledSet,
		hyperparams: LocalHyperparams,
		onProgress: (p: LocalProgress) => void
	): Promise<LocalTrainResult> {
		this.trained.push(globalWeights);
		this.seeds.push(hyperparams.seed);
		const batches = Math.ceil(data.count / hyperparams.batchSize);
		for (let epoch = 1; epoch <= hyperparams.localEpochs; epoch++) {
			for (let batch = 1; batch <= batches; batch++) onProgress({ epoch, epochs: hyperparams.localEpochs, batch, batches, loss: 1 / batch });
		}
		const delta = globalWeights.map((w) => w * 0.5);
		return { delta, numSamples: data.count, steps: batches, loss: 0.4, accuracy: 0.9, trainMs: 12 };
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

function shardBytes(count = 20): Uint8Array {
	const images = new Uint8Array(count * 4).map((_, i) => i % 256);
	const labels = new Uint8Array(count).map((_, i) => i % 3);
	return encodeShard({ count, width: 2, height: 2, numClasses: 3, images, labels });
}

interface Harness {
	session: ParticipantSession;
	socket: FakeSocket;
	trainer: FakeTrainer;
	shards: MemoryShardCache;
	keypair: DeviceKeypair;
	fetches: string[];
	nonces: string[];
	logins: { deviceId: string; nonce: string; signature: string }[];
	states: ParticipantState[];
}

function harness(shards = new MemoryShardCache()): Harness {
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
			shardPath: `/api/v1/projects/${PROJECT}/shard?device=${deviceId}`,
			project: {
				id: PROJECT,
				name: 'Digits',
				dataset: 'mnist',
				model: 'mlp',
				status: 'running',
				rounds: 5,
				currentRound: 1,
				modelVersion: 0,
				batchSize: 10,
				seed: 1
			}
		};
		return reply;
	});
	socket.replies.set('device:status', async () => ({ ok: true }));
	socket.replies.set('round:update', async () => ({ ok: true, roundId: 'r1', accepted: 1 }));
	const session = new ParticipantSession({
		projectId: PROJECT,
		socket,
		trainer,
		shards,
		identity: { loadOrCreate: async () => keypair },
		fetchShard: async (path) => {
			fetches.push(path);
			return shardBytes();
		},
		userAgent: 'vitest',
		loginRetryMs: 5
	});
	const states: ParticipantState[] = [];
	session.subscribe((s) => states.push(s));
	return { session, socket, trainer, shards, keypair, fetches, nonces, logins, states };
}

function task(roundId = 'r1', modelVersion = 0): RoundTask {
	const weights = encodeWeights(new Float32Array([0.5, -1, 2, 0.25]));
	return {
		roundId,
		roundNumber: 1,
		modelVersion,
		model: 'mlp',
		hyperparams: { localEpochs: 2, batchSize: 5, learningRate: 0.1, proximalMu: 0, clipNorm: null, validationFraction: 0 },
		deadline: new Date(Date.now() + 60_000).toISOString(),
		seed: 9,
		// Browsers receive binary as ArrayBuffer.
		weights: weights.buffer as ArrayBuffer
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

		expect(h.socket.sent('device:status')).toEqual([
			{ backend: 'wasm', backendReason: 'wasm 7 ms/step beat cpu 28 ms/step', samples: 20 }
		]);
		const s = h.session.snapshot;
		expect(s).toMatchObject({ connection: 'online', backend: 'wasm', samples: 20, shardIndex: 3 });
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
		expect(second.session.snapshot.samples).toBe(20);
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
		expect(update).toMatchObject({ roundId: 'r1', modelVersion: 4, numSamples: 20, steps: 4, trainLoss: 0.4, trainAccuracy: 0.9 });

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
		expect(h.trainer.inits).toBe(1);
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
});
