import {
	decodeShard,
	decodeWeights,
	encodeWeights,
	type BackendName,
	type ErrorReply,
	type LabelledSet,
	type LoginReply,
	type ParticipantProjectView,
	type RoundClosed,
	type RoundStatus,
	type RoundTask,
	type UpdateEnvelope
} from '@qflare/protocol';
import {
	deviceIdFromPublicKey,
	loginMessage,
	sha256Hex,
	signMessage,
	toBase64,
	updateMessage,
	type DeviceKeypair
} from '@qflare/pq';
import type {
	AckEvent,
	IdentityStore,
	LocalProgress,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
	SessionTrainer,
	ShardCache
} from './ports';
import { ProgressThrottle } from './training-progress';

export type SessionPhase =
	| 'starting'
	| 'connecting'
	| 'authenticating'
	| 'loading-data'
	| 'calibrating'
	| 'waiting'
	| 'training'
	| 'uploading'
	| 'stopped'
	| 'failed';

export type ConnectionState = 'offline' | 'connecting' | 'online';

export type UploadState = 'none' | 'sending' | 'retrying' | 'accepted' | 'rejected';

export interface CurrentRound {
	roundId: string;
	roundNumber: number;
	modelVersion: number;
	deadline: string;
}

export interface LocalTrainingSummary {
	roundNumber: number;
	loss: number;
	accuracy: number;
	numSamples: number;
	steps: number;
	trainMs: number;
}

export interface RoundResult {
	roundId: string;
	roundNumber: number;
	status: RoundStatus;
	modelVersion: number;
	testAccuracy: number | null;
	testLoss: number | null;
	/** Whether this device's update was accepted into the round. */
	contributed: boolean;
}

export interface LogEntry {
	at: number;
	message: string;
}

export interface ParticipantState {
	phase: SessionPhase;
	connection: ConnectionState;
	deviceId: string | null;
	project: ParticipantProjectView | null;
	shardIndex: number | null;
	backend: BackendName | null;
	backendReason: string | null;
	samples: number | null;
	currentRound: CurrentRound | null;
	progress: LocalProgress | null;
	upload: UploadState;
	lastTraining: LocalTrainingSummary | null;
	/** Closed rounds, newest first. */
	results: RoundResult[];
	/** Last problem worth showing; cleared by the next successful login. */
	error: string | null;
	log: LogEntry[];
}

export interface ParticipantSessionOptions {
	projectId: string;
	socket: ParticipantSocket;
	identity: IdentityStore;
	shards: ShardCache;
	fetchShard(path: string): Promise<Uint8Array>;
	trainer: SessionTrainer;
	kind?: 'browser' | 'node';
	userAgent?: string;
	now?: () => number;
	/** Ack timeout of an update upload (default 60 s). */
	updateAckTimeoutMs?: number;
	/** Ack timeout of the small control requests (default 15 s). */
	requestTimeoutMs?: number;
	/** Delay before a failed login is tried again while still connected (default 3 s). */
	loginRetryMs?: number;
	/** Minimum interval between progress reports (default 250 ms, i.e. at most ~4/s). */
	progressIntervalMs?: number;
	/** Uploads tried per connection before waiting for a reconnect (default 3). */
	maxSendsPerConnection?: number;
}

export type StateListener = (state: ParticipantState) => void;

interface PendingUpload {
	envelope: UpdateEnvelope;
	roundNumber: number;
	sends: number;
}

/** Codes after which trying again with the same identity cannot help. */
const FATAL_LOGIN_CODES = new Set<string>(['UNKNOWN_PROJECT', 'SCHEMA_INVALID']);
const MAX_RESULTS = 50;
const MAX_LOG = 30;

function isError(reply: { ok: boolean }): reply is ErrorReply {
	return reply.ok === false;
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Payload bytes are sent as a standalone ArrayBuffer so browsers and Node frame them alike. */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
	return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
		? bytes.buffer
		: (bytes.slice().buffer as ArrayBuffer);
}

/** ": test accuracy 91.2%, loss 0.312" when the server evaluated the model, else "". */
function describeMetrics(closed: RoundClosed): string {
	const { testAccuracy, testLoss } = closed.metrics;
	if (testAccuracy === null) return '';
	return `: test accuracy ${(testAccuracy * 100).toFixed(1)}%${testLoss === null ? '' : `, loss ${testLoss.toFixed(3)}`}`;
}

export function shardCacheKey(projectId: string, deviceId: string, shardIndex: number): string {
	return `${projectId}/${deviceId}/${shardIndex}`;
}

/**
 * The participant side of the protocol: logs in with the device's ML-DSA identity, loads its
 * data shard once, calibrates the trainer, trains each round it is given and uploads the signed
 * delta until the server acknowledges it, across reconnects. It holds no DOM: it publishes
 * immutable state snapshots through `subscribe`, which follows the Svelte store contract.
 */
export class ParticipantSession {
	private readonly opts: Required<
		Pick<
			ParticipantSessionOptions,
			| 'kind'
			| 'userAgent'
			| 'now'
			| 'updateAckTimeoutMs'
			| 'requestTimeoutMs'
			| 'loginRetryMs'
			| 'progressIntervalMs'
			| 'maxSendsPerConnection'
		>
	> &
		ParticipantSessionOptions;
	private state: ParticipantState;
	private readonly listeners = new Set<StateListener>();
	private keypair: DeviceKeypair | null = null;
	private started = false;
	private stopped = false;
	/** Bumped on every (re)connect so a stale login sequence stops where it is. */
	private connectionGen = 0;
	private authenticated = false;
	private ready = false;
	private data: { key: string; set: LabelledSet } | null = null;
	private calibratedFor: string | null = null;
	private queuedTask: RoundTask | null = null;
	private trainingRoundId: string | null = null;
	private pending: PendingUpload | null = null;
	private sending = false;
	private readonly acceptedRounds = new Set<string>();
	private loginRetry: ReturnType<typeof setTimeout> | null = null;
	private readonly throttle: ProgressThrottle;

	constructor(options: ParticipantSessionOptions) {
		this.opts = {
			kind: 'browser',
			userAgent: '',
			now: () => Date.now(),
			updateAckTimeoutMs: 60_000,
			requestTimeoutMs: 15_000,
			loginRetryMs: 3_000,
			progressIntervalMs: 250,
			maxSendsPerConnection: 3,
			...options
		};
		this.throttle = new ProgressThrottle(this.opts.progressIntervalMs, this.opts.now);
		this.state = {
			phase: 'starting',
			connection: 'offline',
			deviceId: null,
			project: null,
			shardIndex: null,
			backend: null,
			backendReason: null,
			samples: null,
			currentRound: null,
			progress: null,
			upload: 'none',
			lastTraining: null,
			results: [],
			error: null,
			log: []
		};
	}

	get snapshot(): ParticipantState {
		return this.state;
	}

	/** Svelte store contract: calls `listener` now and on every change; returns the unsubscriber. */
	subscribe(listener: StateListener): () => void {
		this.listeners.add(listener);
		listener(this.state);
		return () => this.listeners.delete(listener);
	}

	async start(): Promise<void> {
		if (this.started) return;
		this.started = true;
		const { socket, projectId } = this.opts;
		try {
			this.keypair = await this.opts.identity.loadOrCreate(projectId);
		} catch (error) {
			this.fail(`could not load or create the device identity: ${describe(error)}`);
			return;
		}
		this.update({ deviceId: deviceIdFromPublicKey(this.keypair.publicKey) });
		socket.onConnection({
			connect: () => this.onConnect(),
			disconnect: (reason) => this.onDisconnect(reason),
			error: (message) => {
				if (this.stopped) return;
				this.update({ connection: 'connecting' });
				this.note(`connection failed: ${message}`);
			}
		});
		socket.on('round:task', (task) => this.onTask(task));
		socket.on('round:closed', (closed) => this.onRoundClosed(closed));
		socket.on('project:status', (project) => this.update({ project }));
		this.update({ phase: 'connecting', connection: 'connecting' });
		socket.connect();
	}

	stop(): void {
		if (this.stopped) return;
		this.stopped = true;
		this.connectionGen++;
		if (this.loginRetry) clearTimeout(this.loginRetry);
		this.opts.socket.disconnect();
		this.update({ phase: this.state.phase === 'failed' ? 'failed' : 'stopped', connection: 'offline' });
	}

	// connection

	private onConnect(): void {
		if (this.stopped) return;
		this.update({ connection: 'online' });
		this.note('connected');
		void this.login(++this.connectionGen);
	}

	private onDisconnect(reason: string): void {
		this.connectionGen++;
		this.authenticated = false;
		this.ready = false;
		if (this.loginRetry) clearTimeout(this.loginRetry);
		if (this.stopped) return;
		this.update({ connection: 'connecting' });
		if (!this.trainingRoundId) this.update({ phase: 'connecting' });
		this.note(`disconnected (${reason}); reconnecting`);
	}

	private async login(gen: number): Promise<void> {
		const keypair = this.keypair;
		if (!keypair) return;
		const { projectId } = this.opts;
		try {
			if (!this.trainingRoundId) this.update({ phase: 'authenticating' });
			const challenge = await this.request('auth:challenge', {
				projectId,
				publicKey: toBase64(keypair.publicKey),
				kind: this.opts.kind
			});
			if (gen !== this.connectionGen) return;
			if (isError(challenge)) return this.loginRejected(challenge, gen);
			const signature = toBase64(
				signMessage(keypair.secretKey, loginMessage({ projectId, deviceId: challenge.deviceId, nonce: challenge.nonce }))
			);
			const reply = await this.request('auth:login', {
				deviceId: challenge.deviceId,
				nonce: challenge.nonce,
				signature,
				userAgent: this.opts.userAgent.slice(0, 512)
			});
			if (gen !== this.connectionGen) return;
			if (isError(reply)) return this.loginRejected(reply, gen);
			this.authenticated = true;
			this.update({ deviceId: reply.deviceId, project: reply.project, shardIndex: reply.shardIndex, error: null });
			this.note(`logged in as ${reply.deviceId.slice(0, 8)}, shard ${reply.shardIndex}`);

			await this.prepare(reply, gen);
			if (gen !== this.connectionGen) return;
			const status = await this.request('device:status', {
				backend: this.state.backend ?? 'cpu',
				backendReason: (this.state.backendReason ?? '').slice(0, 1_000),
				samples: this.state.samples ?? 0
			});
			if (gen !== this.connectionGen) return;
			if (isError(status)) this.note(`device status refused: ${status.code} ${status.message}`);
			this.ready = true;
			if (this.pending) this.pending.sends = 0;
			if (!this.trainingRoundId) this.update({ phase: 'waiting' });
			void this.flush();
			void this.pump();
		} catch (error) {
			if (gen !== this.connectionGen || this.stopped) return;
			this.authenticated = false;
			this.update({ error: describe(error) });
			this.note(`login failed: ${describe(error)}; trying again`);
			this.scheduleLogin(gen);
		}
	}

	private loginRejected(reply: ErrorReply, gen: number): void {
		const message = `${reply.code}: ${reply.message}`;
		if (FATAL_LOGIN_CODES.has(reply.code)) {
			this.fail(message);
			return;
		}
		this.update({ error: message });
		this.note(`login refused (${message}); trying again`);
		this.scheduleLogin(gen);
	}

	private scheduleLogin(gen: number): void {
		if (this.loginRetry) clearTimeout(this.loginRetry);
		this.loginRetry = setTimeout(() => {
			this.loginRetry = null;
			if (gen === this.connectionGen && !this.stopped) void this.login(gen);
		}, this.opts.loginRetryMs);
	}

	/** Loads the shard (cache first) and calibrates the trainer, each only when it changed. */
	private async prepare(login: LoginReply, gen: number): Promise<void> {
		const key = shardCacheKey(this.opts.projectId, login.deviceId, login.shardIndex);
		if (this.data?.key !== key) {
			if (!this.trainingRoundId) this.update({ phase: 'loading-data' });
			let bytes = await this.opts.shards.get(key);
			if (!bytes) {
				this.note(`downloading data shard ${login.shardIndex}`);
				bytes = await this.opts.fetchShard(login.shardPath);
				await this.opts.shards.put(key, bytes);
			} else {
				this.note(`data shard ${login.shardIndex} loaded from local storage`);
			}
			const set = decodeShard(bytes);
			if (gen !== this.connectionGen) return;
			this.data = { key, set };
			this.update({ samples: set.count });
		}
		const calibrationKey = `${login.project.model}/${login.project.batchSize}/${login.project.seed}`;
		if (this.calibratedFor !== calibrationKey) {
			if (!this.trainingRoundId) this.update({ phase: 'calibrating' });
			const calibration = await this.opts.trainer.init(login.project.model, login.project.batchSize, login.project.seed);
			this.calibratedFor = calibrationKey;
			this.update({ backend: calibration.backend, backendReason: calibration.reason });
			this.note(`training backend: ${calibration.backend} (${calibration.reason})`);
		}
	}

	// rounds

	private onTask(task: RoundTask): void {
		if (this.stopped || this.acceptedRounds.has(task.roundId)) return;
		if (this.pending?.envelope.roundId === task.roundId) {
			// The server re-sent the task after a reconnect: our update is still on its way.
			void this.flush();
			return;
		}
		if (this.trainingRoundId === task.roundId) return;
		this.queuedTask = task;
		void this.pump();
	}

	/** Trains queued tasks one at a time; only the newest waiting task is kept. */
	private async pump(): Promise<void> {
		if (this.trainingRoundId || !this.ready || !this.queuedTask || !this.data) return;
		const task = this.queuedTask;
		// No local deadline check: device clocks drift, the server decides what is too late.
		this.queuedTask = null;
		this.trainingRoundId = task.roundId;
		try {
			await this.train(task, this.data.set);
		} catch (error) {
			// stop() aborts a run in progress; that is not a failure worth reporting.
			if (this.stopped) return;
			this.update({ error: `training round ${task.roundNumber} failed: ${describe(error)}` });
			this.note(`training round ${task.roundNumber} failed: ${describe(error)}`);
		} finally {
			this.trainingRoundId = null;
			if (this.state.phase === 'training') this.update({ phase: this.authenticated ? 'waiting' : 'connecting' });
		}
		void this.pump();
	}

	private async train(task: RoundTask, data: LabelledSet): Promise<void> {
		const { roundId, roundNumber, modelVersion, deadline } = task;
		this.update({
			phase: 'training',
			currentRound: { roundId, roundNumber, modelVersion, deadline },
			progress: null,
			upload: 'none'
		});
		this.note(`round ${roundNumber}: training from model v${modelVersion}`);
		const bytes = task.weights instanceof Uint8Array ? task.weights : new Uint8Array(task.weights);
		const global = decodeWeights(bytes).values;
		this.throttle.reset();
		const result = await this.opts.trainer.train(global, data, { ...task.hyperparams, seed: task.seed }, (progress) => {
			if (!this.throttle.accept(progress)) return;
			this.update({ progress });
			if (this.authenticated) this.opts.socket.notify('round:progress', { roundId, ...progress });
		});
		this.update({
			lastTraining: {
				roundNumber,
				loss: result.loss,
				accuracy: result.accuracy,
				numSamples: result.numSamples,
				steps: result.steps,
				trainMs: result.trainMs
			}
		});
		const payload = encodeWeights(result.delta, 'f32');
		const payloadSha256 = sha256Hex(payload);
		const keypair = this.keypair;
		if (!keypair) throw new Error('no device identity');
		const signature = toBase64(signMessage(keypair.secretKey, updateMessage({ roundId, modelVersion, payloadSha256 })));
		this.pending = {
			envelope: {
				roundId,
				modelVersion,
				numSamples: result.numSamples,
				steps: Math.max(1, result.steps),
				trainLoss: result.loss,
				trainAccuracy: Math.min(1, Math.max(0, result.accuracy)),
				trainMs: result.trainMs,
				...(result.valAccuracy === undefined ? {} : { valAccuracy: Math.min(1, Math.max(0, result.valAccuracy)) }),
				payloadSha256,
				signature,
				payload: exactBuffer(payload)
			},
			roundNumber,
			sends: 0
		};
		void this.flush();
	}

	/** Sends the pending update until it is acknowledged; a reconnect calls it again. */
	private async flush(): Promise<void> {
		if (this.sending || !this.pending || !this.authenticated) return;
		this.sending = true;
		const pending = this.pending;
		const gen = this.connectionGen;
		try {
			while (this.pending === pending && this.authenticated && gen === this.connectionGen) {
				if (pending.sends >= this.opts.maxSendsPerConnection) return;
				pending.sends++;
				this.update({ phase: 'uploading', upload: pending.sends > 1 ? 'retrying' : 'sending' });
				let reply: ReplyOf<'round:update'>;
				try {
					reply = await this.opts.socket.request('round:update', pending.envelope, this.opts.updateAckTimeoutMs);
				} catch (error) {
					this.note(`round ${pending.roundNumber}: update not acknowledged (${describe(error)}); will re-send`);
					this.update({ upload: 'retrying' });
					continue;
				}
				if (this.pending !== pending) return;
				this.pending = null;
				if (isError(reply)) {
					this.update({ upload: 'rejected', error: `update rejected: ${reply.code} ${reply.message}` });
					this.note(`round ${pending.roundNumber}: update rejected (${reply.code})`);
				} else {
					this.acceptedRounds.add(pending.envelope.roundId);
					this.update({ upload: 'accepted' });
					this.note(`round ${pending.roundNumber}: update accepted`);
				}
				return;
			}
		} finally {
			this.sending = false;
			if (this.state.phase === 'uploading' && !this.pending) {
				this.update({ phase: this.authenticated ? 'waiting' : 'connecting' });
			}
		}
	}

	private onRoundClosed(closed: RoundClosed): void {
		if (this.pending?.envelope.roundId === closed.roundId) this.pending = null;
		if (this.queuedTask?.roundId === closed.roundId) this.queuedTask = null;
		const result: RoundResult = {
			roundId: closed.roundId,
			roundNumber: closed.roundNumber,
			status: closed.status,
			modelVersion: closed.modelVersion,
			testAccuracy: closed.metrics.testAccuracy,
			testLoss: closed.metrics.testLoss,
			contributed: this.acceptedRounds.has(closed.roundId)
		};
		const results = [result, ...this.state.results.filter((r) => r.roundId !== closed.roundId)].slice(0, MAX_RESULTS);
		this.update({ results });
		if (this.state.phase === 'uploading' && !this.sending) this.update({ phase: 'waiting' });
		this.note(`round ${closed.roundNumber} ${closed.status}${describeMetrics(closed)}`);
	}

	// plumbing

	private request<E extends AckEvent>(event: E, payload: RequestOf<E>): Promise<ReplyOf<E>> {
		return this.opts.socket.request(event, payload, this.opts.requestTimeoutMs);
	}

	private fail(message: string): void {
		this.update({ phase: 'failed', error: message });
		this.note(message);
		this.stop();
	}

	private note(message: string): void {
		this.update({ log: [{ at: this.opts.now(), message }, ...this.state.log].slice(0, MAX_LOG) });
	}

	private update(patch: Partial<ParticipantState>): void {
		this.state = { ...this.state, ...patch };
		for (const listener of this.listeners) listener(this.state);
	}
}
