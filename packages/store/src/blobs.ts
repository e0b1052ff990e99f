/** Where model weights live: files beside the nedb data, or GridFS with MongoDB. */
export interface BlobStore {
	/** Replaces any blob of that name; readers see the old or the new bytes, never a mix. */
	put(name: string, bytes: Uint8Array): Promise<void>;
	get(name: string): Promise<Uint8Array | null>;
	/** Deleting a missing blob is not an error. */
	delete(name: string): Promise<void>;
}

/** Names are '/'-separated segments that cannot start with a dot, so a file backend cannot escape its folder. */
export function assertBlobName(name: string): void {
	if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/.test(name)) {
		throw new Error(`invalid blob name: ${JSON.stringify(name)}`);
	}
}
