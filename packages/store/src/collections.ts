import type { Device, EventRecord, ModelRecord, Project, Round, UpdateRecord } from '@qflare/protocol';
import type { Backend } from './backend';
import type { Stored } from './docs';
import type { CollectionPort } from './port';

export type ProjectDoc = Stored<Project>;
/** A device id is unique only within its project, so `_id` is `${projectId}:${deviceId}`. */
export type DeviceDoc = Omit<Device, 'id'> & { _id: string; deviceId: string };
export type RoundDoc = Stored<Round>;
export type UpdateDoc = Stored<UpdateRecord>;
/** `blob` names the weights in the BlobStore; it never leaves the store. */
export type ModelDoc = Stored<ModelRecord> & { blob: string; stateBlob?: string };
/** `seq` orders events written within the same millisecond. */
export type EventDoc = Stored<EventRecord> & { seq: number };

export interface Collections {
	projects: CollectionPort<ProjectDoc>;
	devices: CollectionPort<DeviceDoc>;
	rounds: CollectionPort<RoundDoc>;
	updates: CollectionPort<UpdateDoc>;
	models: CollectionPort<ModelDoc>;
	events: CollectionPort<EventDoc>;
}

export async function openCollections(backend: Backend): Promise<Collections> {
	return {
		projects: await backend.collection<ProjectDoc>('projects'),
		devices: await backend.collection<DeviceDoc>('devices'),
		rounds: await backend.collection<RoundDoc>('rounds'),
		updates: await backend.collection<UpdateDoc>('updates'),
		models: await backend.collection<ModelDoc>('models'),
		events: await backend.collection<EventDoc>('events')
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
}
