import { z } from 'zod';
import { BinaryPayload } from './binary';
import { BackendName, ModelName, RoundStatus, type UpdateEncoding } from './entities';
import type { SecureKeysMessage, SecureNeighbours, SecureRelay, SecureRevealMessage, SecureRoundSetup, SecureSharesMessage, SecureUnmaskRequest } from './secure-aggregation';
import { EvaluationReport, FeatureStatsReport, type DataSource, type Standardization, type TaskSchema } from './task-schema';
import type { ClientTrainingPlan, Device, ModelRecord, Project, Round, RoundMetrics } from './entities';
import type { ErrorReply } from './errors';

/** Namespaces on the one Socket.IO server. */
export const PARTICIPANT_NAMESPACE = '/participant';
export const DASHBOARD_NAMESPACE = '/dashboard';

const Base64 = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64');
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');
const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'expected an id');

export const DeviceKind = z.enum(['browser', 'node']);
export type DeviceKind = z.infer<typeof DeviceKind>;

// participant -> server

export const ChallengeRequest = z.object({
	projectId: Id,
	publicKey: Base64,
	kind: DeviceKind,
	/** The project's join token (from the join link); a device registered before logs in without one. */
	joinToken: z.string().min(16).max(200).optional(),
	/** A device that rotated its key keeps its id, which then no longer derives from the key. */
	deviceId: Id.optional()
});
export type ChallengeRequest = z.infer<typeof ChallengeRequest>;
export interface ChallengeReply {
	ok: true;
	deviceId: string;
	nonce: string;
}

/**
 * A logged-in device replaces its ML-DSA key: the old key signs rotateKeyMessage (so only the
 * key holder can rotate) and the new key signs it too (so the device holds the new secret key).
 */
export const RotateKeyRequest = z.object({
	newPublicKey: Base64,
	signature: Base64,
	newSignature: Base64
});
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>;
export interface RotateKeyReply {
	ok: true;
	keyCreatedAt: string;
}

/** Sent to a device's sockets just before the server drops them for good. */
export interface DeviceRevoked {
	deviceId: string;
	message: string;
}

export const LoginRequest = z.object({
	deviceId: Id,
	nonce: z.string().min(16).max(128),
	signature: Base64,
	userAgent: z.string().max(512).default('')
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** What a participant needs to know about its project; the rest stays on the server. */
export interface ParticipantProjectView {
	id: string;
	name: string;
	dataset: string;
	model: ModelName;
	status: Project['status'];
	rounds: number;
	currentRound: number;
	modelVersion: number;
	batchSize: number;
	seed: number;
	dataSource: DataSource;
	/** The data a local-data project expects (null for demo data). */
	task: TaskSchema | null;
	/** Share of the device's data held out for federated evaluation. */
	holdOutFraction: number;
	/** Merged feature scaling, once the project started (local data only). */
	standardization: Standardization | null;
}
export interface LoginReply {
	ok: true;
	deviceId: string;
	shardIndex: number;
	/** Path of this device's demo data shard (GET, binary); null for local-data projects. */
	shardPath: string | null;
	project: ParticipantProjectView;
}

export const DeviceStatusReport = z.object({
	backend: BackendName,
	backendReason: z.string().max(1_000),
	samples: z.number().int().min(0).max(10_000_000),
	/**
	 * Label counts of the training rows, the same rows `samples` counts (local classification data;
	 * the hold-out is not counted). The server counts a demo shard's training rows itself.
	 */
	labelHistogram: z.array(z.number().int().min(0)).max(255).optional()
});
export type DeviceStatusReport = z.infer<typeof DeviceStatusReport>;

export const TrainingProgress = z.object({
	roundId: Id,
	epoch: z.number().int().min(0),
	epochs: z.number().int().min(1),
	batch: z.number().int().min(0),
	batches: z.number().int().min(1),
	loss: z.number().nullable()
});
export type TrainingProgress = z.infer<typeof TrainingProgress>;

/** Metadata of a signed update; the encoded weight delta travels beside it as binary. */
export const UpdateEnvelope = z.object({
	roundId: Id,
	modelVersion: z.number().int().min(0),
	numSamples: z.number().int().min(1).max(100_000_000),
	steps: z.number().int().min(1),
	trainLoss: z.number().finite(),
	/** Null for regression and forecasting, which have no accuracy. */
	trainAccuracy: z.number().min(0).max(1).nullable(),
	trainMs: z.number().min(0),
	/** Accuracy on the client's local hold-out (PerfFedAvg). */
	valAccuracy: z.number().min(0).max(1).optional(),
	payloadSha256: Hex64,
	/** Base64 ML-DSA-65 signature over updateMessage(roundId, modelVersion, payloadSha256). */
	signature: z.string().max(16_384),
	payload: BinaryPayload
});
export type UpdateEnvelope = z.input<typeof UpdateEnvelope>;
export type ParsedUpdateEnvelope = z.output<typeof UpdateEnvelope>;
export interface UpdateAccepted {
	ok: true;
	roundId: string;
	accepted: number;
}

/** `eval:report`: one device's score of a global model on its local hold-out. */
export const EvaluationReportMessage = EvaluationReport.extend({ roundId: Id });
export type EvaluationReportMessage = z.infer<typeof EvaluationReportMessage>;

// server -> participant

export interface RoundTask {
	roundId: string;
	roundNumber: number;
	modelVersion: number;
	model: ModelName;
	hyperparams: ClientTrainingPlan;
	deadline: string;
	seed: number;
	/** Feature scaling for local data (null for demo data). */
	standardization: Standardization | null;
	/** Global weights in the weight codec's format. */
	weights: Uint8Array | ArrayBuffer;
	/** How to encode the update. Ignored in secure rounds, which send 'u32' masked words. */
	updateEncoding: UpdateEncoding;
	/** Present when the project uses secure aggregation. */
	secure?: SecureRoundSetup;
}

/** `model:evaluate`: score a committed global model on the local hold-out and answer with `eval:report`. */
export interface EvaluationTask {
	/** The round that committed the model. */
	roundId: string;
	roundNumber: number;
	modelVersion: number;
	model: ModelName;
	standardization: Standardization | null;
	weights: Uint8Array | ArrayBuffer;
}

export interface RoundClosed {
	roundId: string;
	roundNumber: number;
	status: RoundStatus;
	modelVersion: number;
	metrics: RoundMetrics;
}

// dashboard

export const WatchRequest = z.object({ projectId: Id });
export type WatchRequest = z.infer<typeof WatchRequest>;

export interface DeviceProgress extends TrainingProgress {
	deviceId: string;
}

export type Ack<T> = (reply: T | ErrorReply) => void;

export interface ParticipantClientEvents {
	'auth:challenge': (req: ChallengeRequest, ack: Ack<ChallengeReply>) => void;
	'auth:login': (req: LoginRequest, ack: Ack<LoginReply>) => void;
	'auth:rotate-key': (req: RotateKeyRequest, ack: Ack<RotateKeyReply>) => void;
	'device:status': (req: DeviceStatusReport, ack: Ack<{ ok: true }>) => void;
	'round:progress': (p: TrainingProgress) => void;
	'round:update': (u: UpdateEnvelope, ack: Ack<UpdateAccepted>) => void;
	/** Local data: the statistics of the device's training rows, before the project starts. */
	'data:stats': (s: FeatureStatsReport, ack: Ack<{ ok: true }>) => void;
	'eval:report': (r: EvaluationReportMessage, ack: Ack<{ ok: true }>) => void;
	'secagg:keys': (m: SecureKeysMessage, ack: Ack<{ ok: true }>) => void;
	'secagg:shares': (m: SecureSharesMessage, ack: Ack<{ ok: true }>) => void;
	'secagg:reveal': (m: SecureRevealMessage, ack: Ack<{ ok: true }>) => void;
}
export interface ParticipantServerEvents {
	'round:task': (task: RoundTask) => void;
	'round:closed': (r: RoundClosed) => void;
	'model:evaluate': (t: EvaluationTask) => void;
	'project:status': (p: ParticipantProjectView) => void;
	'device:revoked': (r: DeviceRevoked) => void;
	'secagg:neighbours': (m: SecureNeighbours) => void;
	'secagg:relay': (m: SecureRelay) => void;
	'secagg:unmask': (m: SecureUnmaskRequest) => void;
}

export interface DashboardClientEvents {
	watch: (req: WatchRequest, ack: Ack<{ ok: true }>) => void;
}
export interface DashboardServerEvents {
	project: (p: Project) => void;
	devices: (d: Device[]) => void;
	round: (r: Round) => void;
	model: (m: ModelRecord) => void;
	progress: (p: DeviceProgress) => void;
}
