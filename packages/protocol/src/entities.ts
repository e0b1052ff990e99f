import { z } from 'zod';
import {
	DataSource,
	TaskSchema,
	type DeviceEvaluation,
	type FederatedEvaluation,
	type FeatureStatsReport,
	type Standardization,
	type TaskKind
} from './task-schema';

/** Datasets the platform can shard for demos and simulation. */
export const DatasetName = z.enum(['mnist', 'fashion-mnist']);
export type DatasetName = z.infer<typeof DatasetName>;

/**
 * Models from the built-in zoo; @qflare/trainer builds each as a ModelSpec for the project's
 * task (input shape and output head come from the task).
 */
export const ModelName = z.enum(['mlp', 'cnn', 'logistic', 'cnn-small', 'conv1d', 'gru']);
export type ModelName = z.infer<typeof ModelName>;

/** Which models fit which kind of data; demo data sets are image classification. */
export const MODELS_FOR_TASK: Record<TaskKind, readonly ModelName[]> = {
	'image-classification': ['cnn-small', 'cnn', 'mlp'],
	tabular: ['logistic', 'mlp'],
	'time-series': ['conv1d', 'gru']
};
/** Demo projects keep the two FedAvg-paper models. */
export const DEMO_MODELS: readonly ModelName[] = ['mlp', 'cnn'];

export const ProjectStatus = z.enum(['idle', 'running', 'stopped', 'completed']);
export type ProjectStatus = z.infer<typeof ProjectStatus>;

export const RoundStatus = z.enum(['open', 'training', 'aggregating', 'committed', 'failed']);
export type RoundStatus = z.infer<typeof RoundStatus>;

export const TrainingHyperparams = z.object({
	localEpochs: z.number().int().min(1).max(100),
	batchSize: z.number().int().min(1).max(4096),
	learningRate: z.number().positive().max(10),
	/** FedProx: mu/2 * ||w - w_global||^2 added to the local loss; 0 turns it off. */
	proximalMu: z.number().min(0).max(100)
});
export type TrainingHyperparams = z.infer<typeof TrainingHyperparams>;

/** What a participant needs to train one round, beyond the weights. */
export interface ClientTrainingPlan extends TrainingHyperparams {
	/** DP-FedAvg: the client clips its delta to this L2 norm before sending; null = no clipping. */
	clipNorm: number | null;
	/** PerfFedAvg: share of the local shard held out to report validation accuracy; 0 = none. */
	validationFraction: number;
}

const positive = z.number().positive().finite();
const unitInterval = z.number().gt(0).lt(1);

/** Server-side aggregation rule and its hyperparameters (Reddi et al. 2021 defaults where they apply). */
export const StrategyConfig = z.discriminatedUnion('name', [
	z.object({ name: z.literal('fedavg') }),
	z.object({ name: z.literal('fednova') }),
	z.object({ name: z.literal('fedavgm'), serverLearningRate: positive, momentum: z.number().min(0).lt(1).default(0.9) }),
	z.object({ name: z.literal('fedadagrad'), serverLearningRate: positive, beta1: z.number().min(0).lt(1).default(0.9), tau: positive.default(1e-3) }),
	z.object({
		name: z.literal('fedadam'),
		serverLearningRate: positive,
		beta1: z.number().min(0).lt(1).default(0.9),
		beta2: unitInterval.default(0.99),
		tau: positive.default(1e-3)
	}),
	z.object({
		name: z.literal('fedyogi'),
		serverLearningRate: positive,
		beta1: z.number().min(0).lt(1).default(0.9),
		beta2: unitInterval.default(0.99),
		tau: positive.default(1e-3)
	}),
	z.object({ name: z.literal('median') }),
	z.object({ name: z.literal('trimmed-mean'), trimFraction: z.number().min(0).lt(0.5) }),
	z.object({ name: z.literal('krum'), byzantine: z.number().int().min(0) }),
	z.object({ name: z.literal('multi-krum'), byzantine: z.number().int().min(0), selected: z.number().int().min(1) }),
	z.object({ name: z.literal('perffedavg'), alpha: z.number().min(0).max(1) }),
	z.object({
		name: z.literal('dp-fedavg'),
		clipNorm: positive,
		noiseMultiplier: z.number().min(0).finite(),
		delta: unitInterval.default(1e-5),
		/** Stop the project before a round would push epsilon past this; null = no limit. */
		targetEpsilon: positive.nullable().default(null)
	})
]);
export type StrategyConfig = z.infer<typeof StrategyConfig>;
export type StrategyConfigInput = z.input<typeof StrategyConfig>;
export type StrategyName = StrategyConfig['name'];

/** Strategies that keep every update of a round: memory O(participants x model). */
export const STRATEGIES_KEEPING_UPDATES: readonly StrategyName[] = ['median', 'trimmed-mean', 'krum', 'multi-krum'];

/** `iid` or `dirichlet:ALPHA` (label skew, ALPHA > 0; smaller is more skewed). */
export const PartitionSpec = z
	.string()
	.regex(/^(iid|dirichlet:\d*\.?\d+(e-?\d+)?)$/, 'partition must be "iid" or "dirichlet:ALPHA"')
	.refine((s) => s === 'iid' || Number(s.slice('dirichlet:'.length)) > 0, 'Dirichlet alpha must be > 0');
export type PartitionSpec = z.infer<typeof PartitionSpec>;

export const UpdateScreening = z.object({
	/** Bound on the L2 norm of an update's delta; null = no bound. */
	maxUpdateNorm: positive.nullable(),
	/** What happens to an update above the bound. */
	normPolicy: z.enum(['reject', 'clip'])
});
export type UpdateScreening = z.infer<typeof UpdateScreening>;

/**
 * How participants put their update delta on the wire (weight codec dtypes): f32 as is, f16,
 * int8 with one scale per tensor and stochastic rounding, or top-k: the largest `fraction` of
 * coordinates by magnitude as (index, f32 value) pairs, the rest kept on the device as error
 * feedback and added to the next round's delta. Secure projects always use their fixed-point
 * encoding and must leave this at f32.
 */
export const UpdateEncoding = z.discriminatedUnion('kind', [
	z.object({ kind: z.literal('f32') }),
	z.object({ kind: z.literal('f16') }),
	z.object({ kind: z.literal('int8') }),
	// Above half the coordinates, (index, value) pairs take more bytes than the dense f32 vector.
	z.object({ kind: z.literal('top-k'), fraction: z.number().gt(0).max(0.5) })
]);
export type UpdateEncoding = z.infer<typeof UpdateEncoding>;

/**
 * Secure aggregation (SecAgg+): the server learns only the sum of the round's updates. Each
 * coordinate of a delta is clipped to [-clip, clip] and encoded in fixed point modulo 2^32 with
 * its sample count (capped at maxSamplesPerClient); the tighter both bounds, the finer the
 * quantum. `degree`: neighbours per participant on the round's random graph; null picks
 * min(n - 1, 4 ceil(log2 n)) rounded down to even. A strict majority of a participant's
 * neighbours must answer the unmasking request for its masks to come off.
 */
export const SecureAggregationConfig = z.object({
	clip: z.number().positive().max(1_000),
	maxSamplesPerClient: z.number().int().min(1).max(1_000_000),
	degree: z.number().int().min(2).max(1_000).nullable()
});
export type SecureAggregationConfig = z.infer<typeof SecureAggregationConfig>;

/** Strategies a secure project can use: they need only the (weighted) sum of the updates. */
export const SECURE_STRATEGIES: readonly StrategyName[] = ['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi', 'dp-fedavg'];

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
	/** Share of the ready devices selected each round (at least minParticipants). */
	fraction: z.number().gt(0).max(1),
	partition: PartitionSpec,
	strategy: StrategyConfig,
	screening: UpdateScreening,
	/** Seed for the initial model and the data split. */
	seed: z.number().int().min(0).max(2 ** 31 - 1),
	/** `demo`: shards of `dataset` from the server; `local`: each participant imports its own files. */
	dataSource: DataSource,
	/** What local data looks like; required when dataSource is local, null for demo data. */
	task: TaskSchema.nullable(),
	/** Share of each participant's data held out (by seed) for federated evaluation; 0 = none. */
	holdOutFraction: z.number().min(0).max(0.5),
	updateEncoding: UpdateEncoding,
	/** null: the server sees each update (needed by robust strategies, screening and trust scores). */
	secureAggregation: SecureAggregationConfig.nullable()
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;

/** Cross-field rules a project config must also satisfy; empty when it is consistent. */
export function projectConfigProblems(
	config: Pick<ProjectConfig, 'dataSource' | 'task' | 'model'> & Partial<Pick<ProjectConfig, 'strategy' | 'screening' | 'updateEncoding' | 'secureAggregation' | 'minParticipants'>>
): string[] {
	return [...dataProblems(config), ...secureAggregationProblems(config)];
}

/** Why a secure project's other settings cannot work without seeing individual updates; empty when they can. */
export function secureAggregationProblems(
	config: Partial<Pick<ProjectConfig, 'strategy' | 'screening' | 'updateEncoding' | 'secureAggregation' | 'minParticipants'>>
): string[] {
	if (!config.secureAggregation) return [];
	const problems: string[] = [];
	if (config.minParticipants !== undefined && config.minParticipants < 3) {
		problems.push('minParticipants: secure aggregation needs at least 3 participants per round (with 2, each learns the other\'s update from the sum)');
	}
	if (config.strategy && !SECURE_STRATEGIES.includes(config.strategy.name)) {
		problems.push(
			`strategy: ${config.strategy.name} needs each participant's update, which secure aggregation hides from the server; use ${SECURE_STRATEGIES.join(', ')}`
		);
	}
	if (config.screening && config.screening.maxUpdateNorm !== null) {
		problems.push('screening: per-update norm screening needs each update in the clear; secure aggregation hides them (set maxUpdateNorm to null)');
	}
	if (config.updateEncoding && config.updateEncoding.kind !== 'f32') {
		problems.push(`updateEncoding: secure projects send their fixed-point encoding; ${config.updateEncoding.kind} cannot be masked (leave it at f32)`);
	}
	return problems;
}

function dataProblems(config: Pick<ProjectConfig, 'dataSource' | 'task' | 'model'>): string[] {
	if (config.dataSource === 'demo') {
		const problems: string[] = [];
		if (config.task !== null) problems.push('task: demo projects use the data set\'s own task; set dataSource "local" to declare one');
		if (!DEMO_MODELS.includes(config.model)) problems.push(`model: demo data sets train ${DEMO_MODELS.join(' or ')}, not ${config.model}`);
		return problems;
	}
	if (config.task === null) return ['task: a local-data project must declare its task schema'];
	const models = MODELS_FOR_TASK[config.task.kind];
	return models.includes(config.model) ? [] : [`model: a ${config.task.kind} task trains ${models.join(', ')}, not ${config.model}`];
}

export interface Project extends ProjectConfig {
	id: string;
	/** The organisation that owns the project; only its members see it. */
	organisationId: string;
	status: ProjectStatus;
	/** Version of the latest committed global model (0 = the initial model). */
	modelVersion: number;
	/** Number of the round in progress or last run (0 = none yet). */
	currentRound: number;
	/** Local data: feature scaling merged from the participants' statistics when the project started. */
	standardization: Standardization | null;
	createdAt: string;
	updatedAt: string;
}

export const BackendName = z.enum(['webgpu', 'webgl', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendName>;

export interface DeviceTrust {
	accepted: number;
	rejected: number;
	/** Running mean of the relative distance of accepted deltas to the previous round's aggregate. */
	meanDistance: number;
	/** In [0, 1]: higher is more trusted. */
	score: number;
}

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
	/**
	 * Label counts of the device's training rows, the ones `samples` counts (its demo shard less the
	 * hold-out, or what a local-data device reported); null until known.
	 */
	labelHistogram: number[] | null;
	trust: DeviceTrust;
	/** Local data: the statistics this device reported for its training rows (sums, never rows). */
	featureStats: FeatureStatsReport | null;
	/** The device's last federated evaluation of a global model on its hold-out. */
	lastEvaluation: DeviceEvaluation | null;
	/** When the current publicKey was registered or rotated in (the dashboard shows its age). */
	keyCreatedAt: string;
	/** Set when an admin revoked the device; it can then neither log in nor send updates. */
	revokedAt: string | null;
	/** The join token the device registered with (null for devices registered before join tokens). */
	joinTokenId: string | null;
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

export interface SecureRoundSummary {
	/** Neighbours per device and the shares needed to rebuild a seed. */
	degree: number;
	threshold: number;
	/** Masked updates in the sum. */
	uploaded: number;
	/** Completed the key exchange but sent no update: their key seeds were rebuilt. */
	droppedBeforeUpload: number;
	/** Devices whose shares unmasked the sum. */
	revealed: number;
}

export interface RoundPrivacy {
	/**
	 * Cumulative (epsilon, delta) of the whole run up to and including this round (RDP accountant),
	 * converted from RDP by Canonne, Kamath and Steinke 2020; the target epsilon applies to it.
	 */
	epsilon: number;
	/**
	 * The same RDP converted the classic way (Mironov 2017), shown beside it; never smaller.
	 * Absent on rounds stored before it was recorded, whose `epsilon` is the classic value.
	 */
	epsilonClassic?: number;
	delta: number;
	noiseMultiplier: number;
	/** Share of the project's devices sampled this round. */
	sampleRate: number;
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
	/** Privacy spent after this round (DP-FedAvg only). */
	privacy: RoundPrivacy | null;
	/** The committed model scored by participants on their local hold-outs, merged by n. */
	federatedEvaluation: FederatedEvaluation | null;
	/** Secure aggregation: how the round's masked sum came together (absent on other rounds). */
	secure?: SecureRoundSummary | null;
	failureReason: string | null;
	startedAt: string;
	updatedAt: string;
	endedAt: string | null;
}

/** Metadata of an accepted update; its payload is kept in the store's blobs until its round ends. */
export interface UpdateRecord {
	id: string;
	projectId: string;
	roundId: string;
	deviceId: string;
	numSamples: number;
	payloadSha256: string;
	bytes: number;
	trainLoss: number;
	trainAccuracy: number | null;
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
	/** Federated evaluation of this version, once participants reported it. */
	federatedEvaluation: FederatedEvaluation | null;
	/**
	 * Loss-threshold membership-inference audit of this version (demo projects only, computed
	 * shortly after the commit); null for local-data projects, the initial model, or until done.
	 */
	membershipAudit: MembershipAudit | null;
	createdAt: string;
}

/**
 * How well a loss-threshold attack tells examples the model was trained on (members: training
 * rows of the shards of devices whose updates were accepted) from test examples it never saw.
 */
export interface MembershipAudit {
	/** ROC AUC of the attack: 0.5 = no better than guessing, 1 = every member told apart. */
	auc: number;
	/** Best threshold's true-positive rate minus false-positive rate, in [0, 1]. */
	advantage: number;
	/** Members and non-members sampled. */
	members: number;
	nonMembers: number;
}

export interface EventRecord {
	id: string;
	projectId: string | null;
	type: string;
	message: string;
	data: Record<string, unknown>;
	at: string;
}
