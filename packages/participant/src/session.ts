import {
	decodeWeights,
	SecureNeighbours,
	SecureRelay,
	SecureRoundSetup,
	SecureUnmaskRequest,
	type BackendName,
	type DeviceRevoked,
	type ErrorReply,
	type EvaluationTask,
	type LoginReply,
	type ParticipantProjectView,
	type RoundClosed,
	type RoundStatus,
	type RoundTask,
	type Standardization,
	type TaskSchema,
	type UpdateEnvelope
} from '@qflare/protocol';
import { targetScale } from '@qflare/data-import';
import { modelSpec, parameterSegments } from '@qflare/trainer';
import {
	deviceIdFromPublicKey,
	generateDeviceKeypair,
	loginMessage,
	rotateKeyMessage,
	signMessage,
	toBase64,
	updateMessage
} from '@qflare/pq';
import type {
	AckEvent,
	DataProvider,
	DeviceDataset,
	DeviceIdentity,
	IdentityStore,
	LocalProgress,
	LocalTrainResult,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
	RotatedKey,
	SessionTrainer
} from './ports';
import { datasetProblems } from './dataset-check';
import { dataStatus, featureStatsToShare } from './data-reports';
import { describeEvaluation, EvaluationReports, scoredModel, type LocalEvaluation } from './evaluation-reports';
import { StandardizedSplit } from './standardized-split';
import { ProgressThrottle } from './training-progress';
import { signedUpdate } from './update-envelope';
import { UpdateCompressor } from './update-compression';
import { SecureRoundClient, type SecureRoundStatus } from './secure-aggregation';

export { describeEvaluation, type LocalEvaluation } from './evaluation-reports';

export type SessionPhase =
	| 'starting'
	| 'connecting'
	| 'authenticating'
	| 'loading-data'
	| 'calibrating'
	| 'waiting'
	| 'training'
	| 'uploading'
	| 'evaluating'
	/** A local-data project and no usable data on this device: the session stopped without sending any. */
	| 'needs-data'
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
	/** Null for regression and forecasting. */
	accuracy: number | null;
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

/** The newest global model this device received, kept so the page can put it to use. */
export interface GlobalModelCopy {
	modelVersion: number;
	standardization: Standardization | null;
	/** Flat f32 weights; the session's own copy, never handed to a worker. */
	weights: Float32Array;
}

/**
 * Why the server will not let this device in, whatever it retries: no valid join token for a
 * device it does not know yet, or an administrator revoked the device.
 */
export type Refusal = 'JOIN_TOKEN_INVALID' | 'DEVICE_REVOKED';

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
	/** Training rows (the hold-out excluded). */
	samples: number | null;
	/** Rows held out for federated evaluation. */
	holdOutSamples: number | null;
	currentRound: CurrentRound | null;
	progress: LocalProgress | null;
	upload: UploadState;
	lastTraining: LocalTrainingSummary | null;
	/** Closed rounds, newest first. */
	results: RoundResult[];
	/** This device's evaluations of committed models, newest first. */
	evaluations: LocalEvaluation[];
	globalModel: GlobalModelCopy | null;
	/** Last problem worth showing; cleared by the next successful login. */
	error: string | null;
	/** Set when the session stopped because the server refuses this device for good. */
	refused: Refusal | null;
	/** The running round's secure-aggregation step; null outside secure rounds. */
	secure: SecureRoundStatus | null;
	log: LogEntry[];
}

export interface ParticipantSessionOptions {
	projectId: string;
	socket: ParticipantSocket;
	identity: IdentityStore;
	/**
	 * The project's join token from the join link: a device the server does not know yet
	 * registers only with one; a registered device logs in without.
	 */
	joinToken?: string | null;
	/** The device's training data: the demo shard or imported files (see ProjectDataProvider). */
	data: DataProvider;
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
	/** Sends of an update, and of each evaluation report, per connection before waiting for a reconnect (default 3). */
	maxSendsPerConnection?: number;
}

export type StateListener = (state: ParticipantState) => void;

interface PendingUpload {
	envelope: UpdateEnvelope;
	roundNumber: number;
	sends: number;
}

/** A secure round this device takes part in: its protocol state and, once trained, the result to mask. */
interface SecureRound {
	client: SecureRoundClient;
	task: RoundTask;
	keysAcknowledged: boolean;
	result: LocalTrainResult | null;
}

/** Work for the one trainer, done in arrival order: a round's training or a model's evaluation. */
type Job = { kind: 'train'; task: RoundTask } | { kind: 'evaluate'; task: EvaluationTask };

/** Codes after which trying again with the same identity cannot help. */
const FATAL_LOGIN_CODES = new Set<string>(['UNKNOWN_PROJECT', 'SCHEMA_INVALID', 'JOIN_TOKEN_INVALID', 'DEVICE_REVOKED']);

/** What a person reads when the server refuses the device for good (the server's reason is appended). */
export function refusalMessage(refusal: Refusal, hadJoinToken: boolean): string {
	if (refusal === 'DEVICE_REVOKED') return 'An administrator revoked this device: it can no longer take part in this project.';
	return hadJoinToken
		? 'This join link is no longer valid: ask the coordinator for a new join link or QR code.'
		: 'This project is invite-only: ask the coordinator for a join link or QR code.';
}
const MAX_RESULTS = 50;
const MAX_LOG = 30;

/** The device's id: kept beside the keys after a rotation, else derived from the public key. */
function idOf(identity: DeviceIdentity): string {
	return identity.deviceId ?? deviceIdFromPublicKey(identity.publicKey);
}

function isError(reply: { ok: boolean }): reply is ErrorReply {
	return reply.ok === false;
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function weightsOf(payload: Uint8Array | ArrayBuffer): Float32Array {
	return decodeWeights(payload instanceof Uint8Array ? payload : new Uint8Array(payload)).values;
}

/** The model's tensor sizes (int8 scales each on its own); undefined when they do not add up to the delta. */
/**
 * Lets the page draw (or the process serve others) between mask expansions of a large model. A
 * message rather than a timer: browsers throttle timers in background tabs to one a second or
 * slower, and a participant often leaves the tab while a round runs.
 */
function giveWay(): Promise<void> {
	return new Promise((resolve) => {
		const { port1, port2 } = new MessageChannel();
		port1.onmessage = () => {
			port1.close();
			port2.close();
			resolve();
		};
		port2.postMessage(null);
	});
}

function segmentsOf(task: RoundTask, schema: TaskSchema, length: number): number[] | undefined {
	try {
		const segments = parameterSegments(modelSpec(task.model, schema));
		return segments.reduce((a, b) => a + b, 0) === length ? segments : undefined;
	} catch {
		return undefined;
	}
}

/** ": test accuracy 91.2%, loss 0.312" when the server evaluated the model, else "". */
function describeMetrics(closed: RoundClosed): string {
	const { testAccuracy, testLoss } = closed.metrics;
	if (testAccuracy === null) return '';
	return `: test accuracy ${(testAccuracy * 100).toFixed(1)}%${testLoss === null ? '' : `, loss ${testLoss.toFixed(3)}`}`;
}

/**
 * The participant side of the protocol: logs in with the device's ML-DSA identity, loads its
 * data once (the demo shard or the user's imported files), reports what the server may know
 * about it (row count, label counts and, for local data, column sums), calibrates the trainer,
 * trains each round it is given and uploads the signed delta until the server acknowledges it,
 * across reconnects, and scores each committed model on its local hold-out. It holds no DOM:
 * it publishes immutable state snapshots through `subscribe` (the Svelte store contract).
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
	private identity: DeviceIdentity | null = null;
	/** Set while a key rotation waits for the server's answer: a second one would race it. */
	private rotating = false;
	/**
	 * Set when a rotation got no answer: the server may hold the staged key or not, which only
	 * the next login tells. Another rotation before then could replace the key the server holds.
	 */
	private rotationUnconfirmed = false;
	private started = false;
	private stopped = false;
	/** Bumped on every (re)connect so a stale login sequence stops where it is. */
	private connectionGen = 0;
	private authenticated = false;
	private ready = false;
	private dataset: { key: string; value: DeviceDataset } | null = null;
	private readonly trainData = new StandardizedSplit();
	private readonly holdOutData = new StandardizedSplit();
	private calibratedFor: string | null = null;
	private readonly jobs: Job[] = [];
	private busy = false;
	private trainingRoundId: string | null = null;
	private pending: PendingUpload | null = null;
	private sending = false;
	private readonly acceptedRounds = new Set<string>();
	private readonly reports: EvaluationReports;
	private loginRetry: ReturnType<typeof setTimeout> | null = null;
	private readonly throttle: ProgressThrottle;
	/** Keeps the top-k residual across rounds. */
	private readonly compressor = new UpdateCompressor();
	/** Secrets of the running secure round, in memory only; dropped when it closes or a newer task comes. */
	private secureRound: SecureRound | null = null;

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
		this.reports = new EvaluationReports(
			{
				connection: () => (this.authenticated && !this.stopped ? this.connectionGen : null),
				send: (message) => this.request('eval:report', message),
				note: (message) => this.note(message),
				delivered: (evaluation, delivery) => {
					const current = this.state.evaluations.find((e) => e.modelVersion === evaluation.modelVersion);
					if (current) this.recordEvaluation({ ...current, delivery });
				}
			},
			this.opts.maxSendsPerConnection
		);
		this.state = {
			phase: 'starting',
			connection: 'offline',
			deviceId: null,
			project: null,
			shardIndex: null,
			backend: null,
			backendReason: null,
			samples: null,
			holdOutSamples: null,
			currentRound: null,
			progress: null,
			upload: 'none',
			lastTraining: null,
			results: [],
			evaluations: [],
			globalModel: null,
			error: null,
			refused: null,
			secure: null,
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
			this.identity = await this.opts.identity.loadOrCreate(projectId);
		} catch (error) {
			this.fail(`could not load or create the device identity: ${describe(error)}`);
			return;
		}
		this.update({ deviceId: idOf(this.identity) });
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
		socket.on('model:evaluate', (task) => this.onEvaluate(task));
		socket.on('round:closed', (closed) => this.onRoundClosed(closed));
		socket.on('project:status', (project) => this.update({ project }));
		socket.on('device:revoked', (notice) => this.onRevoked(notice));
		socket.on('secagg:neighbours', (message) => void this.onSecureNeighbours(message));
		socket.on('secagg:relay', (message) => void this.onSecureRelay(message));
		socket.on('secagg:unmask', (message) => void this.onSecureUnmask(message));
		this.update({ phase: 'connecting', connection: 'connecting' });
		socket.connect();
	}

	stop(): void {
		if (this.stopped) return;
		this.stopped = true;
		this.connectionGen++;
		if (this.loginRetry) clearTimeout(this.loginRetry);
		this.dropSecure();
		this.opts.socket.disconnect();
		const final = this.state.phase === 'failed' || this.state.phase === 'needs-data' ? this.state.phase : 'stopped';
		this.update({ phase: final, connection: 'offline' });
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
		if (!this.busy) this.update({ phase: 'connecting' });
		this.note(`disconnected (${reason}); reconnecting`);
	}

	private challenge(keypair: DeviceIdentity): Promise<ReplyOf<'auth:challenge'>> {
		const { projectId, joinToken } = this.opts;
		return this.request('auth:challenge', {
			projectId,
			publicKey: toBase64(keypair.publicKey),
			kind: this.opts.kind,
			...(joinToken ? { joinToken } : {}),
			// Only after a rotation, or for a staged key: the id no longer derives from the key.
			...(keypair.deviceId ? { deviceId: keypair.deviceId } : {})
		});
	}

	private async login(gen: number): Promise<void> {
		let keypair = this.identity;
		if (!keypair) return;
		const { projectId } = this.opts;
		try {
			if (!this.busy) this.update({ phase: 'authenticating' });
			let challenge = await this.challenge(keypair);
			if (gen !== this.connectionGen) return;
			const staged = keypair.pending;
			if (isError(challenge) && challenge.code === 'UNAUTHENTICATED' && staged) {
				// Not the device's current key any more: a rotation whose ack was lost may have
				// reached the server, so the staged key is tried with the same device id.
				const retry = await this.challenge(staged);
				if (gen !== this.connectionGen) return;
				if (isError(retry)) {
					if (retry.code !== 'UNAUTHENTICATED') return this.loginRejected(retry, gen);
					await this.dropPending(staged, 'the server holds neither the device key nor the staged new one');
					if (gen !== this.connectionGen) return;
					return this.loginRejected(challenge, gen);
				}
				this.note('the server holds the new device key of a rotation whose answer was lost: using it');
				// A key that cannot be stored is still used now (adoptKey said so) and stays staged.
				await this.adoptKey(staged).catch(() => undefined);
				keypair = staged;
				challenge = retry;
				if (gen !== this.connectionGen) return;
			}
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
			this.rotationUnconfirmed = false;
			this.update({ deviceId: reply.deviceId, project: reply.project, shardIndex: reply.shardIndex, error: null });
			const local = reply.project.dataSource === 'local';
			this.note(`logged in as ${reply.deviceId.slice(0, 8)}${local ? '' : `, shard ${reply.shardIndex}`}`);

			const dataset = await this.loadData(reply, gen);
			if (!dataset || gen !== this.connectionGen) return;
			const statsReport = featureStatsToShare(dataset, local);
			if (statsReport) {
				// Sent as soon as the data is known (calibration can take a while): the server merges
				// these sums into the project's standardisation before round 1.
				const stats = await this.request('data:stats', statsReport);
				if (gen !== this.connectionGen) return;
				if (isError(stats)) {
					this.update({ error: `feature statistics refused: ${stats.code} ${stats.message}` });
					this.note(`feature statistics refused: ${stats.code} ${stats.message}`);
				}
			}
			await this.calibrate(reply.project, dataset.task);
			if (gen !== this.connectionGen) return;
			const status = await this.request('device:status', {
				backend: this.state.backend ?? 'cpu',
				backendReason: (this.state.backendReason ?? '').slice(0, 1_000),
				...dataStatus(dataset, local)
			});
			if (gen !== this.connectionGen) return;
			if (isError(status)) this.note(`device status refused: ${status.code} ${status.message}`);
			this.ready = true;
			if (this.pending) this.pending.sends = 0;
			if (!this.busy) this.update({ phase: 'waiting' });
			void this.flush();
			void this.reports.resend();
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
		if (reply.code === 'JOIN_TOKEN_INVALID' || reply.code === 'DEVICE_REVOKED') {
			this.refuse(reply.code, reply.message);
			return;
		}
		if (FATAL_LOGIN_CODES.has(reply.code)) {
			this.fail(message);
			return;
		}
		this.update({ error: message });
		this.note(`login refused (${message}); trying again`);
		this.scheduleLogin(gen);
	}

	/** The server will not take this device again: say why and stop, without retrying. */
	private refuse(refusal: Refusal, reason: string): void {
		this.update({ refused: refusal });
		this.fail(`${refusalMessage(refusal, Boolean(this.opts.joinToken))} (${reason})`);
	}

	private onRevoked(notice: DeviceRevoked): void {
		if (this.stopped) return;
		this.refuse('DEVICE_REVOKED', notice.message);
	}

	/**
	 * Replaces the device's ML-DSA key while logged in: the new key is staged on the device first,
	 * then the old key and the new one both sign the rotation, the server swaps the key, and the
	 * new key becomes the current one. A refused rotation drops the staged key; a rotation without
	 * an answer keeps it, and the next login tries it when the server no longer takes the old key.
	 * The device id stays. An update still on its way is signed again with the new key, which is
	 * the one the server checks it against now.
	 */
	async rotateKey(): Promise<{ keyCreatedAt: string }> {
		const current = this.identity;
		if (!current || !this.authenticated || this.stopped) throw new Error('log in before rotating the key');
		if (this.rotating) throw new Error('a key rotation is already under way');
		if (this.rotationUnconfirmed) throw new Error('the last key rotation got no answer: reconnect before rotating again');
		this.rotating = true;
		try {
			const { projectId } = this.opts;
			const deviceId = idOf(current);
			const staged: RotatedKey = { ...generateDeviceKeypair(), deviceId };
			// Kept before it is sent: the server may take it and the answer still get lost.
			try {
				await this.opts.identity.stagePending(projectId, staged);
			} catch (error) {
				throw new Error(`the new device key could not be saved, so it was not sent: ${describe(error)}`);
			}
			this.identity = { ...current, pending: staged };
			const newPublicKey = toBase64(staged.publicKey);
			const message = rotateKeyMessage({ projectId, deviceId, newPublicKey });
			let reply: ReplyOf<'auth:rotate-key'>;
			try {
				reply = await this.request('auth:rotate-key', {
					newPublicKey,
					signature: toBase64(signMessage(current.secretKey, message)),
					newSignature: toBase64(signMessage(staged.secretKey, message))
				});
			} catch (error) {
				this.rotationUnconfirmed = true;
				this.note(`key rotation not answered (${describe(error)}): the new key is kept until the next login settles it`);
				throw error;
			}
			if (isError(reply)) {
				await this.dropPending(staged, 'the rotation was refused');
				throw new Error(`key rotation refused: ${reply.code} ${reply.message}`);
			}
			// Should storing it fail, it stays staged: the next login finds the server holds it.
			await this.adoptKey(staged);
			this.note(`device key rotated (${reply.keyCreatedAt})`);
			return { keyCreatedAt: reply.keyCreatedAt };
		} finally {
			this.rotating = false;
		}
	}

	/**
	 * Makes a key the server holds the current one: used from now on, an update still on its way
	 * signed again with it, and stored in place of the old key. Rejects when it cannot be stored
	 * (it stays staged then), having said so.
	 */
	private async adoptKey(next: RotatedKey): Promise<void> {
		this.identity = { publicKey: next.publicKey, secretKey: next.secretKey, deviceId: next.deviceId };
		if (this.pending) {
			const { roundId, modelVersion, payloadSha256 } = this.pending.envelope;
			const signature = toBase64(signMessage(next.secretKey, updateMessage({ roundId, modelVersion, payloadSha256 })));
			// In place: a send loop in progress picks up the new signature for its next try.
			this.pending.envelope = { ...this.pending.envelope, signature };
		}
		try {
			await this.opts.identity.replace(this.opts.projectId, next);
		} catch (error) {
			// The server already holds the new key; it stays staged, so the next start can still find it.
			const problem = `the new device key was accepted but could not be saved: ${describe(error)}`;
			this.identity = { ...this.identity, pending: next };
			this.update({ error: problem });
			this.note(problem);
			throw new Error(problem);
		}
	}

	/** Forgets a staged key the server does not hold (unless another one was staged since). */
	private async dropPending(staged: RotatedKey, why: string): Promise<void> {
		if (this.identity?.pending !== staged) return;
		this.identity = { ...this.identity, pending: null };
		try {
			await this.opts.identity.clearPending(this.opts.projectId);
			this.note(`staged device key dropped: ${why}`);
		} catch (error) {
			this.note(`staged device key could not be dropped (${why}): ${describe(error)}`);
		}
	}

	private scheduleLogin(gen: number): void {
		if (this.loginRetry) clearTimeout(this.loginRetry);
		this.loginRetry = setTimeout(() => {
			this.loginRetry = null;
			if (gen === this.connectionGen && !this.stopped) void this.login(gen);
		}, this.opts.loginRetryMs);
	}

	/**
	 * Loads the data, once per project, device and shard. Resolves null, having stopped the
	 * session, when a local-data project has no usable data here: nothing about it is sent then.
	 */
	private async loadData(login: LoginReply, gen: number): Promise<DeviceDataset | null> {
		const { project } = login;
		const local = project.dataSource === 'local';
		const key = `${project.id}/${login.deviceId}/${project.dataSource}/${local ? '' : login.shardIndex}`;
		if (this.dataset?.key === key) return this.dataset.value;
		if (!this.busy) this.update({ phase: 'loading-data' });
		let dataset: DeviceDataset | null;
		try {
			dataset = await this.opts.data.load(login, (message) => this.note(message));
		} catch (error) {
			// A download that failed is worth another try; imported data that cannot be read is not.
			if (!local) throw error;
			this.needData(`the data imported on this device cannot be read (${describe(error)}): import it again`);
			return null;
		}
		if (gen !== this.connectionGen) return null;
		if (!dataset) {
			this.needData(
				local
					? `project "${project.name}" trains on data from each participant: import your data first`
					: 'no data set is available for this project'
			);
			return null;
		}
		const problems = datasetProblems(dataset, project);
		if (problems.length > 0) {
			this.needData(`the data on this device does not fit project "${project.name}": ${problems.join('; ')}`);
			return null;
		}
		this.dataset = { key, value: dataset };
		this.trainData.clear();
		this.holdOutData.clear();
		this.update({ samples: dataset.train.count, holdOutSamples: dataset.holdOut?.count ?? 0 });
		this.note(`${dataset.origin}: ${dataset.train.count} training rows, ${dataset.holdOut?.count ?? 0} held out for evaluation`);
		return dataset;
	}

	/** Builds the model and picks the backend, once per model, batch size, seed and task. */
	private async calibrate(project: ParticipantProjectView, task: TaskSchema): Promise<void> {
		const calibrationKey = `${project.model}/${project.batchSize}/${project.seed}/${JSON.stringify(task)}`;
		if (this.calibratedFor === calibrationKey) return;
		if (!this.busy) this.update({ phase: 'calibrating' });
		const calibration = await this.opts.trainer.init(project.model, task, project.batchSize, project.seed);
		this.calibratedFor = calibrationKey;
		this.update({ backend: calibration.backend, backendReason: calibration.reason });
		this.note(`training backend: ${calibration.backend} (${calibration.reason})`);
	}

	/** Stops without sending anything about data, and says what the user has to do. */
	private needData(message: string): void {
		this.update({ phase: 'needs-data', error: message });
		this.note(message);
		this.stop();
	}

	// rounds and evaluations

	private onTask(task: RoundTask): void {
		if (this.stopped || this.acceptedRounds.has(task.roundId)) return;
		const secure = this.secureRound?.task.roundId === task.roundId ? this.secureRound : null;
		// The server re-sent a secure task after a reconnect: the keys again if unanswered.
		if (secure && !secure.keysAcknowledged) void this.sendSecureKeys(secure);
		// A newer task: the last round's secrets go.
		if (!secure) this.dropSecure();
		if (this.pending?.envelope.roundId === task.roundId) {
			// The server re-sent the task after a reconnect: our update is still on its way.
			void this.flush();
			return;
		}
		// Trained already (a secure round waits for its relay) or training now: never a second run.
		if (secure?.result || this.trainingRoundId === task.roundId) return;
		if (task.secure !== undefined && !secure && !this.beginSecure(task)) return;
		this.keepGlobalModel(task.modelVersion, task.standardization, task.weights);
		// Only the newest waiting task is kept: an older round is over by the time a newer one starts.
		this.dropJobs((job) => job.kind === 'train');
		this.jobs.push({ kind: 'train', task });
		void this.pump();
	}

	private onEvaluate(task: EvaluationTask): void {
		if (this.stopped) return;
		this.keepGlobalModel(task.modelVersion, task.standardization, task.weights);
		if (!this.reports.claim(task)) return;
		this.dropJobs((job) => job.kind === 'evaluate');
		this.jobs.push({ kind: 'evaluate', task });
		void this.pump();
	}

	private dropJobs(drop: (job: Job) => boolean): void {
		for (let i = this.jobs.length - 1; i >= 0; i--) if (drop(this.jobs[i])) this.jobs.splice(i, 1);
	}

	private keepGlobalModel(modelVersion: number, standardization: Standardization | null, payload: Uint8Array | ArrayBuffer): void {
		const current = this.state.globalModel;
		if (current && current.modelVersion >= modelVersion) return;
		try {
			this.update({ globalModel: { modelVersion, standardization, weights: weightsOf(payload) } });
		} catch (error) {
			this.note(`global model v${modelVersion} could not be decoded: ${describe(error)}`);
		}
	}

	/** Runs queued jobs one at a time, in arrival order: one trainer, one model in it. */
	private async pump(): Promise<void> {
		if (this.busy || !this.ready || !this.dataset) return;
		const job = this.jobs.shift();
		if (!job) return;
		const dataset = this.dataset.value;
		this.busy = true;
		try {
			if (job.kind === 'train') {
				// No local deadline check: device clocks drift, the server decides what is too late.
				this.trainingRoundId = job.task.roundId;
				await this.train(job.task, dataset);
			} else {
				await this.evaluate(job.task, dataset);
			}
		} catch (error) {
			// stop() aborts a run in progress; that is not a failure worth reporting.
			if (this.stopped) return;
			if (job.kind === 'evaluate') this.reports.release(job.task);
			const what = job.kind === 'train' ? `training round ${job.task.roundNumber}` : `evaluating model v${job.task.modelVersion}`;
			this.update({ error: `${what} failed: ${describe(error)}` });
			this.note(`${what} failed: ${describe(error)}`);
		} finally {
			this.busy = false;
			this.trainingRoundId = null;
			if (this.state.phase === 'training' || this.state.phase === 'evaluating') {
				// An evaluation may end while the last round's update is still on its way.
				this.update({ phase: !this.authenticated ? 'connecting' : this.sending ? 'uploading' : 'waiting' });
			}
		}
		void this.pump();
	}

	private async train(task: RoundTask, dataset: DeviceDataset): Promise<void> {
		const { roundId, roundNumber, modelVersion, deadline } = task;
		this.update({
			phase: 'training',
			currentRound: { roundId, roundNumber, modelVersion, deadline },
			progress: null,
			upload: 'none'
		});
		this.note(`round ${roundNumber}: training from model v${modelVersion}`);
		const data = this.trainData.get(dataset.train, dataset.task, task.standardization);
		const global = weightsOf(task.weights);
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
		if (task.secure !== undefined) {
			const round = this.secureRound;
			if (round?.task.roundId !== roundId) {
				this.note(`round ${roundNumber}: the secure round ended during training; nothing sent`);
				return;
			}
			round.result = result;
			if (!round.client.readyToMask) this.note(`round ${roundNumber}: trained; the update is masked once the neighbours' shares arrive`);
			void this.uploadSecure(round);
			return;
		}
		const keypair = this.identity;
		if (!keypair) throw new Error('no device identity');
		const payload = this.compressor.encode(result.delta, task.updateEncoding, segmentsOf(task, dataset.task, result.delta.length));
		this.pending = { envelope: signedUpdate(task, result, keypair, payload), roundNumber, sends: 0 };
		void this.flush();
	}

	// secure aggregation

	/** Sets up the round's secure client and sends its keys (while training runs); false when this device cannot take part. */
	private beginSecure(task: RoundTask): boolean {
		const setup = SecureRoundSetup.safeParse(task.secure);
		const identity = this.identity;
		const deviceId = this.state.deviceId;
		let client: SecureRoundClient;
		try {
			if (!setup.success) throw new Error(`malformed setup: ${setup.error.issues[0]?.message ?? 'invalid'}`);
			if (!identity || !deviceId) throw new Error('no device identity');
			client = new SecureRoundClient({
				roundId: task.roundId,
				setup: setup.data,
				deviceId,
				deviceSecretKey: identity.secretKey,
				note: (message) => this.note(`round ${task.roundNumber}: ${message}`)
			});
		} catch (error) {
			this.note(`round ${task.roundNumber}: cannot take part in secure aggregation (${describe(error)}); not training`);
			return false;
		}
		const round: SecureRound = { client, task, keysAcknowledged: false, result: null };
		this.secureRound = round;
		this.secureChanged(round);
		this.note(`round ${task.roundNumber}: secure aggregation, ${setup.data.roster.length} participants; keys sent`);
		void this.sendSecureKeys(round);
		return true;
	}

	private async sendSecureKeys(round: SecureRound): Promise<void> {
		const { roundNumber } = round.task;
		try {
			const reply = await this.request('secagg:keys', round.client.keysMessage());
			if (isError(reply)) this.note(`round ${roundNumber}: secure keys refused (${reply.code} ${reply.message})`);
			else round.keysAcknowledged = true;
		} catch (error) {
			this.note(`round ${roundNumber}: secure keys not acknowledged (${describe(error)})`);
		}
	}

	/** The server's message for the running secure round, parsed; null (noted when malformed) otherwise. */
	private secureMessage<T extends { roundId: string }>(
		schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
		raw: unknown,
		what: string
	): { round: SecureRound; message: T } | null {
		if (this.stopped) return null;
		const parsed = schema.safeParse(raw);
		if (!parsed.success) {
			this.note(`malformed secure ${what} message ignored`);
			return null;
		}
		const round = this.secureRound;
		// A message for a round this device is not in.
		if (!round || round.task.roundId !== parsed.data.roundId) return null;
		return { round, message: parsed.data };
	}

	/** Repeats (the server re-sends after a reconnect) get the same shares again. */
	private async onSecureNeighbours(raw: unknown): Promise<void> {
		const got = this.secureMessage(SecureNeighbours, raw, 'neighbours');
		if (!got) return;
		const { round, message } = got;
		const { roundNumber } = round.task;
		try {
			const shares = await round.client.onNeighbours(message);
			if (!shares) return;
			this.secureChanged(round);
			const reply = await this.request('secagg:shares', shares);
			if (isError(reply)) this.note(`round ${roundNumber}: secure shares refused (${reply.code} ${reply.message})`);
			else this.note(`round ${roundNumber}: shares sent to ${shares.envelopes.length} neighbours`);
		} catch (error) {
			this.note(`round ${roundNumber}: secure shares not sent (${describe(error)})`);
		}
	}

	private async onSecureRelay(raw: unknown): Promise<void> {
		const got = this.secureMessage(SecureRelay, raw, 'relay');
		if (!got) return;
		const { round, message } = got;
		let ok: boolean | null;
		try {
			ok = await round.client.onRelay(message);
		} catch (error) {
			// The shares step itself failed; its error was noted then.
			this.note(`round ${round.task.roundNumber}: secure relay not used (${describe(error)})`);
			return;
		}
		this.secureChanged(round);
		if (ok) void this.uploadSecure(round);
	}

	/** After training and the relay, whichever comes last: masks the update and sends it like any other. */
	private async uploadSecure(round: SecureRound): Promise<void> {
		const { task, result, client } = round;
		if (!result || !client.readyToMask || this.secureRound !== round) return;
		try {
			const keypair = this.identity;
			if (!keypair) throw new Error('no device identity');
			const payload = await client.maskedPayload(result.delta, result.numSamples, task.hyperparams.clipNorm, giveWay);
			// The real sample count travels masked, as the last word of the payload: the envelope's
			// numSamples is 1 so it says nothing about this device.
			const envelope = signedUpdate(task, { ...result, numSamples: 1 }, keypair, payload);
			this.pending = { envelope, roundNumber: task.roundNumber, sends: 0 };
			this.note(`round ${task.roundNumber}: update masked with ${client.status.neighbours} neighbours' pair masks`);
		} catch (error) {
			if (this.secureRound !== round) return;
			this.update({ error: `round ${task.roundNumber}: masking failed: ${describe(error)}` });
			this.note(`round ${task.roundNumber}: masking failed: ${describe(error)}`);
			return;
		} finally {
			this.secureChanged(round);
		}
		void this.flush();
	}

	private async onSecureUnmask(raw: unknown): Promise<void> {
		const got = this.secureMessage(SecureUnmaskRequest, raw, 'unmask');
		if (!got) return;
		const { round, message } = got;
		const { roundNumber } = round.task;
		const answer = round.client.reveal(message);
		this.secureChanged(round);
		if (!answer) return;
		try {
			const reply = await this.request('secagg:reveal', answer);
			if (isError(reply)) this.note(`round ${roundNumber}: revealed shares refused (${reply.code} ${reply.message})`);
			else this.note(`round ${roundNumber}: ${answer.shares.length} shares revealed for unmasking the sum`);
		} catch (error) {
			this.note(`round ${roundNumber}: revealed shares not acknowledged (${describe(error)})`);
		}
	}

	private secureChanged(round: SecureRound): void {
		if (this.secureRound === round) this.update({ secure: round.client.status });
	}

	private dropSecure(): void {
		if (!this.secureRound) return;
		this.secureRound.client.dispose();
		this.secureRound = null;
		this.update({ secure: null });
	}

	/** Scores a committed model on the hold-out and reports loss, the task's metric counts and n. */
	private async evaluate(task: EvaluationTask, dataset: DeviceDataset): Promise<void> {
		const { modelVersion } = task;
		if (!dataset.holdOut) {
			this.note(`model v${modelVersion}: no hold-out on this device (the project holds out 0%), not evaluated`);
			return;
		}
		this.update({ phase: 'evaluating' });
		const data = this.holdOutData.get(dataset.holdOut, dataset.task, task.standardization);
		const score = await this.opts.trainer.evaluateHoldOut(
			weightsOf(task.weights),
			data,
			targetScale(dataset.task, task.standardization)
		);
		const scored = scoredModel(task, score, this.opts.now());
		this.recordEvaluation(scored.evaluation);
		if (scored.message === null) {
			this.note(`model v${modelVersion}: evaluation not reported (${scored.problem})`);
			return;
		}
		this.note(`model v${modelVersion} on ${score.n} held-out rows: ${describeEvaluation(scored.evaluation)}`);
		// Not awaited: a report whose acks time out is tried again, which must not hold up the next round's training.
		void this.reports.send(scored);
	}

	private recordEvaluation(evaluation: LocalEvaluation): void {
		const rest = this.state.evaluations.filter((e) => e.modelVersion !== evaluation.modelVersion);
		this.update({ evaluations: [evaluation, ...rest].slice(0, MAX_RESULTS) });
	}

	/**
	 * Sends the pending update until it is acknowledged; a reconnect calls it again. An answer is
	 * recorded even when it comes after the round closed or a newer update took its place: a
	 * round resumed after a server crash can close while the re-sent update is on its way, and
	 * the server still counted it.
	 */
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
					if (this.pending === pending) this.update({ upload: 'retrying' });
					continue;
				}
				this.answered(pending, reply);
				return;
			}
		} finally {
			this.sending = false;
			// A newer update, or a new connection, arrived while this send was in flight.
			if (this.pending && (this.pending !== pending || gen !== this.connectionGen)) void this.flush();
			else if (this.state.phase === 'uploading' && !this.pending) {
				this.update({ phase: this.busy ? this.state.phase : this.authenticated ? 'waiting' : 'connecting' });
			}
		}
	}

	private answered(sent: PendingUpload, reply: ReplyOf<'round:update'>): void {
		const { roundId } = sent.envelope;
		const current = this.pending === sent;
		if (current) this.pending = null;
		if (isError(reply)) {
			if (current) this.update({ upload: 'rejected', error: `update rejected: ${reply.code} ${reply.message}` });
			this.note(`round ${sent.roundNumber}: update rejected (${reply.code})`);
			return;
		}
		this.acceptedRounds.add(roundId);
		if (current) this.update({ upload: 'accepted' });
		// The round may have closed before the answer came: its result now shows the contribution.
		if (this.state.results.some((r) => r.roundId === roundId && !r.contributed)) {
			this.update({ results: this.state.results.map((r) => (r.roundId === roundId ? { ...r, contributed: true } : r)) });
		}
		this.note(`round ${sent.roundNumber}: update accepted`);
	}

	private onRoundClosed(closed: RoundClosed): void {
		// An update of the closed round still waiting for its answer stays pending: the server
		// acknowledges a re-send of an update it counted, and refuses one it did not.
		this.dropJobs((job) => job.kind === 'train' && job.task.roundId === closed.roundId);
		if (this.secureRound?.task.roundId === closed.roundId) this.dropSecure();
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
