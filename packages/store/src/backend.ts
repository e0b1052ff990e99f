import type { BlobStore } from './blobs';
import type { CollectionPort, StoredDoc } from './port';

export type BackendKind = 'embedded' | 'mongodb';

/** What an adapter hands openStore: collections by name, a blob store, and a way to close. */
export interface Backend {
	readonly kind: BackendKind;
	readonly blobs: BlobStore;
	collection<T extends StoredDoc>(name: string): Promise<CollectionPort<T>>;
	close(): Promise<void>;
}
