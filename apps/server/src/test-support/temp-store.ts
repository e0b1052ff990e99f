import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '@qflare/store';

/** An embedded store in a fresh temporary folder named after `name`, for unit tests that need real records. */
export async function openTempStore(name: string): Promise<TempStore> {
	return openTempStoreIn(mkdtempSync(path.join(tmpdir(), `qflare-${name}-`)));
}

export interface TempStore {
	store: Store;
	dataDir: string;
	/** Closes the store and removes its folder. */
	close(): Promise<void>;
}

/** The embedded store in an existing folder (a restart over the same data); close() removes the folder. */
export async function openTempStoreIn(dataDir: string): Promise<TempStore> {
	const store = await openStore({ dataDir });
	return {
		store,
		dataDir,
		async close() {
			await store.close();
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}
