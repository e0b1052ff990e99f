// The small interfaces ParticipantSession talks through, so the protocol logic runs the same in
// a browser tab, a headless Node participant and a unit test with fakes.
import type {
	BackendName,
	ClientTrainingPlan,
	LabelledSet,
	ModelName,
	ParticipantClientEvents,
	ParticipantServerEvents,
	TrainingProgress
} from '@qflare/protocol';
import type { DeviceKeypair } from '@qflare/pq';

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

export interface IdentityStore {
	/** The device keypair for a project: created on first use, the same one on every later call. */
	loadOrCreate(projectId: string): Promise<DeviceKeypair>;
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
	accuracy: number;
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

export interface SessionTrainer {
	/** Builds the model and picks the fastest working backend. */
	init(model: ModelName, batchSize: number, seed: number): Promise<Calibration>;
	train(
		globalWeights: Float32Array,
		data: LabelledSet,
		hyperparams: LocalHyperparams,
		onProgress: (progress: LocalProgress) => void
	): Promise<LocalTrainResult>;
}
