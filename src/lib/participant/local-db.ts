import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { DeviceKeypair } from '@qflare/pq';
import type { PreparedData } from '@qflare/data-import';
import type { ImportPreview } from './import-preview';

/** A project's imported data as the worker prepared it: tensors for training, plus what the page shows. */
export interface StoredDataset {
	prepared: PreparedData;
	preview: ImportPreview;
	/** ISO time of the import. */
	importedAt: string;
}

interface QflareDb extends DBSchema {
	/** Device keypairs by project id. */
	identity: { key: string; value: DeviceKeypair };
	/** Raw data shards by `${projectId}/${deviceId}/${shardIndex}`. */
	shards: { key: string; value: Uint8Array };
	/** Local-data projects: the participant's own data, prepared, by project id. Never sent anywhere. */
	datasets: { key: string; value: StoredDataset };
}

export type LocalDb = IDBPDatabase<QflareDb>;

let db: Promise<LocalDb> | null = null;

/**
 * The participant's IndexedDB database, opened once per page or worker. Version 2 added the
 * datasets store; a tab still holding version 1 open is asked to let go (blocking) so the
 * upgrade is not stuck behind it.
 */
export function localDb(): Promise<LocalDb> {
	db ??= openDB<QflareDb>('qflare', 2, {
		upgrade(database, oldVersion) {
			if (oldVersion < 1) {
				database.createObjectStore('identity');
				database.createObjectStore('shards');
			}
			if (oldVersion < 2) database.createObjectStore('datasets');
		},
		blocking() {
			// Another context (a newer tab, or this page's worker) needs a newer version: close ours.
			void db?.then((open) => open.close());
			db = null;
		}
	});
	return db;
}

export async function loadDataset(projectId: string): Promise<StoredDataset | undefined> {
	return (await localDb()).get('datasets', projectId);
}

export async function saveDataset(projectId: string, dataset: StoredDataset): Promise<void> {
	await (await localDb()).put('datasets', dataset, projectId);
}

export async function deleteDataset(projectId: string): Promise<void> {
	await (await localDb()).delete('datasets', projectId);
}
