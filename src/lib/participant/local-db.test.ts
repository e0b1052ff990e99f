import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimeSeriesTask } from '@qflare/protocol';
import type { PreparedData } from '@qflare/data-import';
import { buildPreview, storedPreview } from './import-preview';

const SERIES: TimeSeriesTask = { kind: 'time-series', timeColumn: 't', valueColumns: ['co2', 'temp'], target: 'co2', window: 3, horizon: 1, loss: 'mse' };

/** Two training windows of 3 rows x 2 values; the hold-out's one window is the example. */
function series(): PreparedData {
	return {
		task: SERIES,
		train: { count: 2, inputs: Float32Array.from({ length: 12 }, (_, i) => i), targets: new Float32Array([6, 8]) },
		holdOut: { count: 1, inputs: new Float32Array([20, 21, 22, 23, 24, 25]), targets: new Float32Array([26]) },
		stats: { columns: { co2: { count: 6, sum: 30, sumSquares: 220 }, temp: { count: 6, sum: 36, sumSquares: 286 } } },
		labelHistogram: null,
		summary: { source: 'co2.csv', rows: 12, columns: ['t', 'co2', 'temp'], preview: [['1', '20', '21']], trainCount: 2, holdOutCount: 1, gapWindows: 1, skipped: [] }
	};
}

/** A fresh module (its open database is cached) over a fresh, empty IndexedDB. */
async function freshLocalDb() {
	vi.resetModules();
	return import('./local-db');
}

describe('local-db', () => {
	beforeEach(() => {
		globalThis.indexedDB = new IDBFactory();
	});

	it('stores the preview beside the data, so the page reads it alone, and deletes both', async () => {
		const { deleteDataset, loadDataset, loadPreview, saveDataset } = await freshLocalDb();
		const prepared = series();
		const preview = storedPreview(prepared, buildPreview(prepared), '2024-05-01T10:00:00.000Z');
		expect(preview.example).toEqual([
			[20, 21],
			[22, 23],
			[24, 25]
		]);
		await saveDataset('p1', { prepared, importedAt: preview.importedAt }, preview);
		expect(await loadPreview('p1')).toEqual(preview);
		const stored = await loadDataset('p1');
		expect(stored?.importedAt).toBe(preview.importedAt);
		expect(Array.from(stored!.prepared.holdOut!.inputs)).toEqual([20, 21, 22, 23, 24, 25]);
		// The page's read holds no tensors.
		expect(Object.keys((await loadPreview('p1'))!).sort()).toEqual(['example', 'importedAt', 'preview', 'task']);

		await deleteDataset('p1');
		expect(await loadPreview('p1')).toBeUndefined();
		expect(await loadDataset('p1')).toBeUndefined();
	});

	it('upgrades a version 2 database: identity, shards and datasets stay, and each dataset\'s preview is copied out', async () => {
		const prepared = series();
		const preview = buildPreview(prepared);
		const importedAt = '2024-04-01T08:00:00.000Z';
		const keypair = { publicKey: new Uint8Array([1, 2]), secretKey: new Uint8Array([3, 4]) };
		const v2 = await openDB('qflare', 2, {
			upgrade(database) {
				database.createObjectStore('identity');
				database.createObjectStore('shards');
				database.createObjectStore('datasets');
			}
		});
		await v2.put('identity', keypair, 'p1');
		await v2.put('shards', new Uint8Array([9, 9, 9]), 'p1/d/0');
		// As version 2 stored it: the preview inside the dataset.
		await v2.put('datasets', { prepared, preview, importedAt }, 'p1');
		v2.close();

		const { LOCAL_DB_VERSION, loadDataset, loadPreview, localDb } = await freshLocalDb();
		expect(await loadPreview('p1')).toEqual(storedPreview(prepared, preview, importedAt));
		expect((await loadPreview('p1'))?.example).toEqual([
			[20, 21],
			[22, 23],
			[24, 25]
		]);
		expect((await loadDataset('p1'))?.prepared.summary.source).toBe('co2.csv');
		const db = await localDb();
		expect(db.version).toBe(LOCAL_DB_VERSION);
		expect(await db.get('identity', 'p1')).toEqual(keypair);
		expect(Array.from((await db.get('shards', 'p1/d/0'))!)).toEqual([9, 9, 9]);
	});

	it('creates every store in a new database', async () => {
		const { localDb } = await freshLocalDb();
		const db = await localDb();
		expect([...db.objectStoreNames].sort()).toEqual(['datasets', 'identity', 'joinTokens', 'previews', 'shards']);
	});

	it('upgrades a version 3 database with a joinTokens store and keeps the identity', async () => {
		const keypair = { publicKey: new Uint8Array([1, 2]), secretKey: new Uint8Array([3, 4]) };
		const v3 = await openDB('qflare', 3, {
			upgrade(database) {
				for (const name of ['identity', 'shards', 'datasets', 'previews']) database.createObjectStore(name);
			}
		});
		await v3.put('identity', keypair, 'p1');
		v3.close();
		const { hasIdentity, loadJoinToken, saveJoinToken, localDb } = await freshLocalDb();
		expect(await hasIdentity('p1')).toBe(true);
		expect(await hasIdentity('p2')).toBe(false);
		expect(await loadJoinToken('p1')).toBeUndefined();
		await saveJoinToken('p1', 'qjt_abc');
		expect(await loadJoinToken('p1')).toBe('qjt_abc');
		expect(await (await localDb()).get('identity', 'p1')).toEqual(keypair);
	});

	it('stages a rotated key beside the current one, promotes it on replace and drops it on clearPending', async () => {
		const { localDb } = await freshLocalDb();
		const { IndexedDbIdentityStore } = await import('./identity-store');
		const store = new IndexedDbIdentityStore();
		const first = await store.loadOrCreate('p1');
		expect(first.pending).toBeUndefined();
		const deviceId = 'd'.repeat(64);
		const staged = { publicKey: new Uint8Array([5, 6]), secretKey: new Uint8Array([7, 8]), deviceId };

		// Staged: the current key stays, the new one comes back beside it.
		await store.stagePending('p1', staged);
		const loaded = await store.loadOrCreate('p1');
		expect(loaded.publicKey).toEqual(first.publicKey);
		expect(loaded.secretKey).toEqual(first.secretKey);
		expect(loaded.pending).toEqual(staged);

		// Refused: dropped, the current key untouched.
		await store.clearPending('p1');
		expect(await store.loadOrCreate('p1')).toEqual(first);

		// Accepted: the staged key becomes the current one and nothing stays staged.
		await store.stagePending('p1', staged);
		await store.replace('p1', staged);
		expect(await (await localDb()).get('identity', 'p1')).toEqual(staged);
		expect((await store.loadOrCreate('p1')).pending).toBeUndefined();
		// Another project's identity is its own.
		await expect(store.stagePending('p2', staged)).rejects.toThrow(/no device identity for project p2/);
		expect((await store.loadOrCreate('p2')).pending).toBeUndefined();
	});
});
