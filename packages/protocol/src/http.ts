import { z } from 'zod';
import { ProjectConfig, projectConfigProblems } from './entities';

export const API_PREFIX = '/api/v1';

/** Defaults a dashboard form starts from; MNIST MLP values from the FedAvg paper (B=10, E=1). */
export const PROJECT_DEFAULTS: Omit<ProjectConfig, 'name'> = {
	dataset: 'mnist',
	model: 'mlp',
	rounds: 5,
	minParticipants: 2,
	shardCount: 10,
	localEpochs: 1,
	batchSize: 10,
	learningRate: 0.1,
	roundTimeoutSec: 120,
	seed: 1,
	fraction: 1,
	partition: 'iid',
	proximalMu: 0,
	strategy: { name: 'fedavg' },
	screening: { maxUpdateNorm: null, normPolicy: 'reject' },
	dataSource: 'demo',
	task: null,
	holdOutFraction: 0.15,
	updateEncoding: { kind: 'f32' },
	secureAggregation: null
};

/** POST /api/v1/projects: omitted fields take PROJECT_DEFAULTS. */
export const CreateProjectBody = z.preprocess(
	(body) =>
		body !== null && typeof body === 'object' && !Array.isArray(body)
			? { ...PROJECT_DEFAULTS, ...withoutUndefined(body as Record<string, unknown>) }
			: body,
	ProjectConfig.strict().superRefine((config, ctx) => {
		for (const message of projectConfigProblems(config)) ctx.addIssue({ code: 'custom', message });
	})
);
export type CreateProjectBody = Partial<ProjectConfig> & Pick<ProjectConfig, 'name'>;

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** GET /api/v1/projects/:id/shard?device=ID&access=TOKEN (the access token of the device's last login). */
export const ShardQuery = z.object({ device: z.string().min(1).max(64), access: z.string().min(1).max(64) });

/** GET /api/v1/server-info */
export interface ServerInfo {
	/** Origins that phones can reach this server at; empty when none is known. */
	publicOrigins: string[];
	store: 'embedded' | 'mongodb';
}

const MAX_PREDICT_INPUTS = 256;
const CellValue = z.union([z.string().max(256), z.number().finite()]);

/**
 * POST /api/v1/projects/:id/models/:version/predict. One of: tabular rows by column name, time
 * series windows (window rows x the task's value columns, in schema order), or images as base64
 * PNG/JPEG files. The server checks them against the project's task schema.
 */
export const PredictRequest = z.union([
	z.object({ rows: z.array(z.record(z.string().max(128), CellValue)).min(1).max(MAX_PREDICT_INPUTS) }).strict(),
	z.object({ windows: z.array(z.array(z.array(z.number().finite()).min(1).max(64)).min(1).max(1_024)).min(1).max(MAX_PREDICT_INPUTS) }).strict(),
	z.object({ images: z.array(z.string().min(1).max(2_000_000).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64')).min(1).max(16) }).strict()
]);
export type PredictRequest = z.infer<typeof PredictRequest>;

/** One prediction: a class with its probabilities, or predicted values (regression: 1; forecast: horizon). */
export type Prediction =
	| { label: string; probabilities: Record<string, number> }
	| { values: number[] };

export interface PredictResponse {
	projectId: string;
	modelVersion: number;
	predictions: Prediction[];
}
