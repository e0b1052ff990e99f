import { MongoClient, type Document } from 'mongodb';
import type { Backend } from '../backend';
import type { CollectionPort, StoredDoc } from '../port';
import { GridFsBlobStore } from './gridfs-blobs';
import { MongoCollection } from './mongo-collection';

const DEFAULT_DB = 'qflare';

/** The database named in the URI path, if any (`mongodb://host/dbname?opts`). */
export function dbNameFromUri(uri: string): string | undefined {
	const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(uri);
	return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}

export async function openMongoBackend(uri: string, dbName?: string): Promise<Backend> {
	// ignoreUndefined: an undefined field is left out, as nedb's JSON files do, instead of stored as null.
	const client = new MongoClient(uri, { ignoreUndefined: true, serverSelectionTimeoutMS: 10_000 });
	await client.connect();
	const db = client.db(dbName ?? dbNameFromUri(uri) ?? DEFAULT_DB);
	return {
		kind: 'mongodb',
		blobs: new GridFsBlobStore(db),
		async collection<T extends StoredDoc>(name: string): Promise<CollectionPort<T>> {
			return new MongoCollection<T & Document>(db.collection<T & Document>(name));
		},
		async close(): Promise<void> {
			await client.close();
		}
	};
}
