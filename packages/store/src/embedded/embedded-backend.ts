import Datastore from '@seald-io/nedb';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backend';
import type { CollectionPort, StoredDoc } from '../port';
import { FileBlobStore } from './file-blobs';
import { NedbCollection } from './nedb-collection';

type Raw = Record<string, unknown>;

/**
 * The default backend: one nedb file per collection (`DATA_DIR/<name>.db`) and weight
 * blobs under `DATA_DIR/blobs/`. One process owns a data folder at a time: nedb keeps
 * everything in memory and appends to its files, so two writers would corrupt them.
 */
export async function openEmbeddedBackend(dataDir: string): Promise<Backend> {
	await mkdir(dataDir, { recursive: true });
	const blobs = new FileBlobStore(join(dataDir, 'blobs'));
	await blobs.sweepTemp();
	// One adapter per collection: its write queue must be the only one in front of the file.
	const collections = new Map<string, NedbCollection<StoredDoc>>();
	const stores: Datastore<Raw>[] = [];

	return {
		kind: 'embedded',
		blobs,
		async collection<T extends StoredDoc>(name: string): Promise<CollectionPort<T>> {
			if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid collection name: ${name}`);
			let collection = collections.get(name);
			if (!collection) {
				const ds = new Datastore<Raw>({ filename: join(dataDir, `${name}.db`), autoload: true });
				// autoload starts reading at construction; wait so a load error surfaces here.
				await ds.autoloadPromise;
				stores.push(ds);
				collection = new NedbCollection<StoredDoc>(name, ds);
				collections.set(name, collection);
			}
			return collection as unknown as CollectionPort<T>;
		},
		async close(): Promise<void> {
			// Compaction rewrites each file as one line per live document, so the next open is quick.
			await Promise.all(stores.map((ds) => ds.compactDatafileAsync()));
			collections.clear();
			stores.length = 0;
		}
	};
}
