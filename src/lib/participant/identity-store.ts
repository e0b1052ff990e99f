import { generateDeviceKeypair } from '@qflare/pq';
import type { DeviceIdentity, IdentityStore } from '@qflare/participant';
import { localDb } from './local-db';

/**
 * Keeps one ML-DSA identity per project in IndexedDB. Per project rather than per browser so
 * that two projects cannot link the same device by its public key.
 */
export class IndexedDbIdentityStore implements IdentityStore {
	async loadOrCreate(projectId: string): Promise<DeviceIdentity> {
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

	/** The old secret key is overwritten: after the rotation it opens nothing any more. */
	async replace(projectId: string, identity: DeviceIdentity & { deviceId: string }): Promise<void> {
		const { publicKey, secretKey, deviceId } = identity;
		await (await localDb()).put('identity', { publicKey, secretKey, deviceId }, projectId);
	}
}
