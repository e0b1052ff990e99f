// The small interfaces ParticipantSession talks through, so the protocol logic runs the same in
// a browser tab, a headless Node participant and a unit test with fakes.
import type {
	BackendName,
	ClientTrainingPlan,
	ColumnScale,
	EvaluationReport,
	FeatureStatsReport,
	LoginReply,
	ModelName,
	ParticipantClientEvents,
	ParticipantServerEvents,
	TaskSchema,
	TrainingProgress
} from '@qflare/protocol';
import type { DeviceKeypair } from '@qflare/pq';
import type { PreparedSplit } from '@qflare/data-import';
import type { LabelledData } from '@qflare/trainer';

type AckOf<F> = F extends (req: never, ack: infer A) => void ? A : never;
type ArgOf<A> = A extends (reply: infer R) => void ? R : never;

/** Client events the server answers with an ack (those whose handler takes two arguments). */
export type AckEvent = {
	[E in keyof ParticipantClientEvents]: Parameters<ParticipantClientEvents[E]> extends [unknown, unknown] ? E : never;
}[keyof ParticipantClientEvents];

export type RequestOf<E extends keyof ParticipantClientEvents> = Parameters<ParticipantClientEvents[E]>[0];
/** The ack's argument: the success reply or an ErrorReply. */
export type ReplyOf<E extends AckEvent> = ArgOf<AckOf<ParticipantClientEvents[E]>>;

export interface ConnectionHandlers {
	connect(): void;
	disconnect(reason: string): void;
	error(message: string): void;
}

export interface ParticipantSocket {
	/** Starts connecting; the transport reconnects by itself and calls `connect` each time. */
	connect(): void;
	/** Closes for good: no reconnection after this. */
	disconnect(): void;
	onConnection(handlers: ConnectionHandlers): void;
	on<E extends keyof ParticipantServerEvents>(event: E, handler: ParticipantServerEvents[E]): void;
	/** Emits with an ack; rejects when the ack does not arrive in time or the connection drops. */
	request<E extends AckEvent>(event: E, payload: RequestOf<E>, timeoutMs: number): Promise<ReplyOf<E>>;
	notify(event: 'round:progress', payload: TrainingProgress): void;
}

/** A rotated key with the device id it keeps (the id of the first key). */
export interface RotatedKey extends DeviceKeypair {
	deviceId: string;
}

/**
 * A device's keys for a project. Its id derives from its first public key; after a key rotation
 * the id stays, so it is kept beside the new keys.
 */
export interface DeviceIdentity extends DeviceKeypair {
	/** Set once the key was rotated; absent (or null) while the id still derives from the public key. */
	deviceId?: string | null;
	/**
	 * A new key staged before its rotation was sent and not yet confirmed: the server may hold it
	 * already (its ack lost), so a login the current key is refused for tries this one.
	 */
	pending?: RotatedKey | null;
}

export interface IdentityStore {
	/** The device identity for a project (with any staged key): created on first use, the same one on every later call. */
	loadOrCreate(projectId: string): Promise<DeviceIdentity>;
	/** Keeps a key about to be sent in a rotation beside the current one, before it is sent. */
	stagePending(projectId: string, identity: RotatedKey): Promise<void>;
	/** Keeps a rotated key (with the unchanged device id) as the current one and drops the staged key; called once the server accepted it. */
	replace(projectId: string, identity: RotatedKey): Promise<void>;
	/** Drops the staged key: the server refused the rotation, or refuses the key. */
	clearPending(projectId: string): Promise<void>;
}

/** Raw shard bytes as the server sent them, keyed by project, device and shard index. */
export interface ShardCache {
	get(key: string): Promise<Uint8Array | undefined>;
	put(key: string, bytes: Uint8Array): Promise<void>;
}

export type LocalProgress = Omit<TrainingProgress, 'roundId'>;

export interface LocalTrainResult {
	delta: Float32Array;
	numSamples: number;
	steps: number;
	loss: number;
	/** Null for regression and forecasting, which have no accuracy. */
	accuracy: number | null;
	trainMs: number;
	/** Accuracy on the local hold-out, when the plan asked for one (PerfFedAvg). */
	valAccuracy?: number;
}

export interface Calibration {
	backend: BackendName;
	reason: string;
}

/** The round's training plan (hyperparameters, DP clip norm, hold-out) plus its seed, which fixes the local shuffle. */
export type LocalHyperparams = ClientTrainingPlan & { seed: number };

/** A model's score on the local hold-out, before the session adds the model version. */
export type HoldOutScore = Omit<EvaluationReport, 'modelVersion'>;

export interface SessionTrainer {
	/** Builds `modelSpec(model, task)` and picks the fastest working backend for it. */
	init(model: ModelName, task: TaskSchema, batchSize: number, seed: number): Promise<Calibration>;
	train(
		globalWeights: Float32Array,
		data: LabelledData,
		hyperparams: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult>;
	/**
	 * Scores `weights` on the hold-out (inputs and targets as training sees them); regression
	 * error sums come back in target units through `targetScale`.
	 */
	evaluateHoldOut(weights: Float32Array, data: LabelledData, targetScale: ColumnScale | null): Promise<HoldOutScore>;
}

/**
 * A device's data for one project, split once: training rows, the fixed hold-out scored in
 * federated evaluation, and the column sums the server may know (never rows).
 */
export interface DeviceDataset {
	/** The task the data was prepared for; the session refuses data prepared for another one. */
	task: TaskSchema;
	train: PreparedSplit;
	holdOut: PreparedSplit | null;
	/** Local data: sums over the training rows for the federated standardisation; null for demo data. */
	stats: FeatureStatsReport | null;
	/** Where the data came from, for the activity log ("data shard 3 loaded from local storage"). */
	origin: string;
}

/** Where a session's training data comes from: the server's demo shard, or files the user imported. */
export interface DataProvider {
	/**
	 * The data for the project the login answered with. Resolves null when a local-data project
	 * has no imported data on this device; rejects when the data cannot be loaded.
	 */
	load(login: LoginReply, note: (message: string) => void): Promise<DeviceDataset | null>;
}
