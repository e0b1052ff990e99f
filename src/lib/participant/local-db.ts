import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { DeviceKeypair } from '@qflare/pq';

interface QflareDb extends DBSchema {
	/** Device keypairs by project id. */
	identity: { key: string; value: DeviceKeypair };
	/** Raw data shards by `${projectId}/${deviceId}/${shardIndex}`. */
	shards: { key: string; value: Uint8Array };
}

export type LocalDb = IDBPDatabase<QflareDb>;

let db: Promise<LocalDb> | null = null;

/** The participant's IndexedDB database, opened once per page. */
export function localDb(): Promise<LocalDb> {
	db ??= openDB<QflareDb>('qflare', 1, {
		upgrade(database) {
			database.createObjectStore('identity');
			database.createObjectStore('shards');
		}
	});
	return db;
}
