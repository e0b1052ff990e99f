import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { DeviceIdentity } from '@qflare/participant';
import type { PreparedData } from '@qflare/data-import';
import { buildPreview, storedPreview, type ImportPreview, type StoredPreview } from './import-preview';

/** A project's imported data as the worker prepared it, for training. */
export interface StoredDataset {
	prepared: PreparedData;
	/** ISO time of the import. */
	importedAt: string;
}

/** A dataset stored before version 3, which carried its preview inside. */
type DatasetWithPreview = StoredDataset & { preview?: ImportPreview };

interface QflareDb extends DBSchema {
	/** Device keypairs by project id (with the device id once the key was rotated, and a new key staged while a rotation is unsettled). */
	identity: { key: string; value: DeviceIdentity };
	/** The join token each project's link carried, by project id: a reload joins without the link. */
	joinTokens: { key: string; value: string };
	/** Raw data shards by `${projectId}/${deviceId}/${shardIndex}`. */
	shards: { key: string; value: Uint8Array };
	/** Local-data projects: the participant's own data, prepared, by project id. Never sent anywhere. */
	datasets: { key: string; value: StoredDataset };
	/** What the page shows of each dataset, by project id: written and deleted with it. */
	previews: { key: string; value: StoredPreview };
}

export type LocalDb = IDBPDatabase<QflareDb>;

export const LOCAL_DB_NAME = 'qflare';
export const LOCAL_DB_VERSION = 4;

let db: Promise<LocalDb> | null = null;

/**
 * The participant's IndexedDB database, opened once per page or worker. Version 2 added the
 * datasets store, version 3 the previews store (filled from the datasets already there), version
 * 4 the joinTokens store; every upgrade keeps the stores and records already there. A tab
 * still holding an older version open is asked to let go (blocking) so the upgrade is not stuck
 * behind it.
 */
export function localDb(): Promise<LocalDb> {
	db ??= openDB<QflareDb>(LOCAL_DB_NAME, LOCAL_DB_VERSION, {
		upgrade(database, oldVersion, _newVersion, transaction) {
			if (oldVersion < 1) {
				database.createObjectStore('identity');
				database.createObjectStore('shards');
			}
			if (oldVersion < 2) database.createObjectStore('datasets');
			if (oldVersion < 3) {
				database.createObjectStore('previews');
				// The open waits for the upgrade transaction, so the copies are there when it resolves.
				// A failed request aborts the upgrade, and the open rejects with it.
				if (oldVersion >= 2) copyPreviews(transaction).catch(() => undefined);
			}
			if (oldVersion < 4) database.createObjectStore('joinTokens');
		},
		blocking() {
			// Another context (a newer tab, or this page's worker) needs a newer version: close ours.
			void db?.then((open) => open.close());
			db = null;
		}
	});
	return db;
}

/** Data imported before version 3 keeps its preview: one read of each dataset, once. */
async function copyPreviews(transaction: IDBPTransaction<QflareDb, StoreNames<QflareDb>[], 'versionchange'>): Promise<void> {
	const previews = transaction.objectStore('previews');
	let cursor = await transaction.objectStore('datasets').openCursor();
	while (cursor) {
		let copy: StoredPreview | null = null;
		try {
			const { prepared, importedAt, preview } = cursor.value as DatasetWithPreview;
			copy = storedPreview(prepared, preview ?? buildPreview(prepared), importedAt);
		} catch {
			// A record this version cannot read gets no preview: the page asks for the data again.
		}
		if (copy) void previews.put(copy, cursor.key);
		cursor = await cursor.continue();
	}
}

/** The data, for the session to train on; the page reads only `loadPreview`. */
export async function loadDataset(projectId: string): Promise<StoredDataset | undefined> {
	return (await localDb()).get('datasets', projectId);
}

export async function loadPreview(projectId: string): Promise<StoredPreview | undefined> {
	return (await localDb()).get('previews', projectId);
}

/** Stores the data and its preview together: a page never sees one without the other. */
export async function saveDataset(projectId: string, dataset: StoredDataset, preview: StoredPreview): Promise<void> {
	const tx = (await localDb()).transaction(['datasets', 'previews'], 'readwrite');
	await Promise.all([tx.objectStore('datasets').put(dataset, projectId), tx.objectStore('previews').put(preview, projectId), tx.done]);
}

export async function deleteDataset(projectId: string): Promise<void> {
	const tx = (await localDb()).transaction(['datasets', 'previews'], 'readwrite');
	await Promise.all([tx.objectStore('datasets').delete(projectId), tx.objectStore('previews').delete(projectId), tx.done]);
}

/** Whether this browser holds a device identity for the project (made at its first join). */
export async function hasIdentity(projectId: string): Promise<boolean> {
	return (await (await localDb()).getKey('identity', projectId)) !== undefined;
}

export async function loadJoinToken(projectId: string): Promise<string | undefined> {
	return (await localDb()).get('joinTokens', projectId);
}

/** Kept beside the identity: a reload, or a later visit without the link, still carries it. */
export async function saveJoinToken(projectId: string, token: string): Promise<void> {
	await (await localDb()).put('joinTokens', token, projectId);
}
