import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '@qflare/store';

/** An embedded store in a fresh temporary folder named after `name`, for unit tests that need real records. */
export async function openTempStore(name: string): Promise<{ store: Store; dataDir: string; close(): Promise<void> }> {
	const dataDir = mkdtempSync(path.join(tmpdir(), `qflare-${name}-`));
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
