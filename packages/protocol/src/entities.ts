import { z } from 'zod';

/** Datasets the platform can shard for demos and simulation. */
export const DatasetName = z.enum(['mnist', 'fashion-mnist']);
export type DatasetName = z.infer<typeof DatasetName>;

/** Models from the built-in zoo; each is a ModelSpec in @qflare/trainer. */
export const ModelName = z.enum(['mlp', 'cnn']);
export type ModelName = z.infer<typeof ModelName>;

export const ProjectStatus = z.enum(['idle', 'running', 'stopped', 'completed']);
export type ProjectStatus = z.infer<typeof ProjectStatus>;

export const RoundStatus = z.enum(['open', 'training', 'aggregating', 'committed', 'failed']);
export type RoundStatus = z.infer<typeof RoundStatus>;

export const TrainingHyperparams = z.object({
	localEpochs: z.number().int().min(1).max(100),
	batchSize: z.number().int().min(1).max(4096),
	learningRate: z.number().positive().max(10)
});
export type TrainingHyperparams = z.infer<typeof TrainingHyperparams>;

/** What a coordinator fills in to create a project (HTTP body of POST /api/v1/projects). */
export const ProjectConfig = TrainingHyperparams.extend({
	name: z.string().trim().min(1).max(120),
	dataset: DatasetName,
	model: ModelName,
	rounds: z.number().int().min(1).max(10_000),
	minParticipants: z.number().int().min(1).max(100_000),
	/** Number of IID shards the training split is cut into; devices get shards round-robin. */
	shardCount: z.number().int().min(1).max(100_000),
	/** Seconds a round waits for updates before it aggregates what it has (or fails). */
	roundTimeoutSec: z.number().int().min(5).max(86_400),
	/** Seed for the initial model and the data split. */
	seed: z.number().int().min(0).max(2 ** 31 - 1)
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;

export interface Project extends ProjectConfig {
	id: string;
	status: ProjectStatus;
	/** Version of the latest committed global model (0 = the initial model). */
	modelVersion: number;
	/** Number of the round in progress or last run (0 = none yet). */
	currentRound: number;
	createdAt: string;
	updatedAt: string;
}

export const BackendName = z.enum(['webgpu', 'webgl', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendName>;

export interface Device {
	/** Hex SHA-256 of the device's ML-DSA public key (first 32 hex chars). */
	id: string;
	projectId: string;
	/** Base64 ML-DSA-65 public key. */
	publicKey: string;
	kind: 'browser' | 'node';
	online: boolean;
	backend: BackendName | null;
	backendReason: string | null;
	samples: number;
	shardIndex: number;
	userAgent: string;
	registeredAt: string;
	lastSeen: string;
}

export interface RoundMetrics {
	testAccuracy: number | null;
	testLoss: number | null;
	/** Sample-weighted mean of the participants' local training loss. */
	trainLoss: number | null;
	trainAccuracy: number | null;
}

export interface Round {
	id: string;
	projectId: string;
	number: number;
	status: RoundStatus;
	/** Global model version the participants train from. */
	baseModelVersion: number;
	/** Version committed by this round, when committed. */
	resultModelVersion: number | null;
	selected: string[];
	/** Device ids whose update was accepted and folded in. Rejected updates leave no trace here. */
	accepted: string[];
	totalSamples: number;
	/** When training ends; equals startedAt while the round is open. */
	deadline: string;
	metrics: RoundMetrics;
	failureReason: string | null;
	startedAt: string;
	updatedAt: string;
	endedAt: string | null;
}

/** Metadata of an accepted update; the weights live only in the round's accumulator. */
export interface UpdateRecord {
	id: string;
	projectId: string;
	roundId: string;
	deviceId: string;
	numSamples: number;
	payloadSha256: string;
	bytes: number;
	trainLoss: number;
	trainAccuracy: number;
	trainMs: number;
	receivedAt: string;
}

export interface ModelRecord {
	id: string;
	projectId: string;
	version: number;
	/** Round that produced it; null for the initial model. */
	roundNumber: number | null;
	parameterCount: number;
	sha256: string;
	testAccuracy: number | null;
	testLoss: number | null;
	createdAt: string;
}

export interface EventRecord {
	id: string;
	projectId: string | null;
	type: string;
	message: string;
	data: Record<string, unknown>;
	at: string;
}
