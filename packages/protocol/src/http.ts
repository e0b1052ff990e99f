import { z } from 'zod';
import { ProjectConfig } from './entities';

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
	screening: { maxUpdateNorm: null, normPolicy: 'reject' }
};

/** POST /api/v1/projects: omitted fields take PROJECT_DEFAULTS. */
export const CreateProjectBody = z.preprocess(
	(body) =>
		body !== null && typeof body === 'object' && !Array.isArray(body)
			? { ...PROJECT_DEFAULTS, ...withoutUndefined(body as Record<string, unknown>) }
			: body,
	ProjectConfig.strict()
);
export type CreateProjectBody = Partial<ProjectConfig> & Pick<ProjectConfig, 'name'>;

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** GET /api/v1/projects/:id/shard?device=ID */
export const ShardQuery = z.object({ device: z.string().min(1).max(64) });

/** GET /api/v1/server-info */
export interface ServerInfo {
	/** Origins that phones can reach this server at; empty when none is known. */
	publicOrigins: string[];
	store: 'embedded' | 'mongodb';
}
