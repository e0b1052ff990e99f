import { generateDeviceKeypair, type DeviceKeypair } from '@qflare/pq';
import type { IdentityStore } from '@qflare/participant';
import { localDb } from './local-db';

/**
 * Keeps one ML-DSA keypair per project in IndexedDB. Per project rather than per browser so
 * that two projects cannot link the same device by its public key.
 */
export class IndexedDbIdentityStore implements IdentityStore {
	async loadOrCreate(projectId: string): Promise<DeviceKeypair> {
		const db = await localDb();
		const tx = db.transaction('identity', 'readwrite');
		const existing = await tx.store.get(projectId);
		if (existing) {
			await tx.done;
			return existing;
		}
		// Generated inside the transaction so two tabs opening at once end up with one key.
		const keypair = generateDeviceKeypair();
		await tx.store.put(keypair, projectId);
		await tx.done;
		return keypair;
	}
}
