import type { Device, EvaluationReport, EventRecord, ModelRecord, Project, Round, UpdateRecord } from '@qflare/protocol';
import type { Backend } from './backend';
import type { StoredFeatureStats, StoredStandardization } from './column-records';
import type { Stored } from './docs';
import type { CollectionPort } from './port';

/**
 * Fields added after documents were first written are optional here: a document from an
 * older version lacks them, and the repositories fill in their defaults when reading.
 */
export type ProjectDoc = Omit<Stored<Project>, 'standardization' | 'dataSource' | 'task' | 'holdOutFraction'> &
	Partial<Pick<Project, 'dataSource' | 'task' | 'holdOutFraction'>> & { standardization?: StoredStandardization | null };
/** A device id is unique only within its project, so `_id` is `${projectId}:${deviceId}`. */
export type DeviceDoc = Omit<Device, 'id' | 'featureStats' | 'lastEvaluation'> & {
	_id: string;
	deviceId: string;
	featureStats?: StoredFeatureStats | null;
	lastEvaluation?: Device['lastEvaluation'];
};
export type RoundDoc = Omit<Stored<Round>, 'federatedEvaluation'> & Partial<Pick<Round, 'federatedEvaluation'>>;
export type UpdateDoc = Stored<UpdateRecord>;
/** `blob` names the weights in the BlobStore; it never leaves the store. */
export type ModelDoc = Omit<Stored<ModelRecord>, 'federatedEvaluation'> &
	Partial<Pick<ModelRecord, 'federatedEvaluation'>> & { blob: string; stateBlob?: string };
/** `seq` orders events written within the same millisecond. */
export type EventDoc = Stored<EventRecord> & { seq: number };

/** One device's score of a committed model; `_id` is `${roundId}:${deviceId}`, so a re-sent report replaces the first. */
export interface EvaluationDoc {
	_id: string;
	projectId: string;
	roundId: string;
	roundNumber: number;
	deviceId: string;
	modelVersion: number;
	n: number;
	loss: number;
	/** Explicit nulls: the port's filters cannot tell a missing field from null on every backend. */
	classification: NonNullable<EvaluationReport['classification']> | null;
	regression: NonNullable<EvaluationReport['regression']> | null;
	receivedAt: string;
}

export interface Collections {
	projects: CollectionPort<ProjectDoc>;
	devices: CollectionPort<DeviceDoc>;
	rounds: CollectionPort<RoundDoc>;
	updates: CollectionPort<UpdateDoc>;
	models: CollectionPort<ModelDoc>;
	events: CollectionPort<EventDoc>;
	evaluations: CollectionPort<EvaluationDoc>;
}

export async function openCollections(backend: Backend): Promise<Collections> {
	return {
		projects: await backend.collection<ProjectDoc>('projects'),
		devices: await backend.collection<DeviceDoc>('devices'),
		rounds: await backend.collection<RoundDoc>('rounds'),
		updates: await backend.collection<UpdateDoc>('updates'),
		models: await backend.collection<ModelDoc>('models'),
		events: await backend.collection<EventDoc>('events'),
		evaluations: await backend.collection<EvaluationDoc>('evaluations')
	};
}

/** Idempotent; run at every start-up. The unique ones are what the repositories rely on. */
export async function ensureIndexes(c: Collections): Promise<void> {
	await c.projects.createIndex({ createdAt: -1 });
	await c.devices.createIndex({ projectId: 1, deviceId: 1 }, { unique: true, name: 'device_per_project' });
	await c.devices.createIndex({ projectId: 1, online: 1 });
	await c.rounds.createIndex({ projectId: 1, number: 1 }, { unique: true, name: 'round_number_per_project' });
	await c.updates.createIndex({ roundId: 1, deviceId: 1 }, { unique: true, name: 'update_per_device_per_round' });
	await c.updates.createIndex({ projectId: 1, payloadSha256: 1 });
	await c.models.createIndex({ projectId: 1, version: 1 }, { unique: true, name: 'model_version_per_project' });
	await c.events.createIndex({ projectId: 1, seq: -1 });
	await c.evaluations.createIndex({ roundId: 1, deviceId: 1 }, { unique: true, name: 'evaluation_per_device_per_round' });
	await c.evaluations.createIndex({ projectId: 1, roundNumber: 1 });
}
