import { generateDeviceKeypair } from '@qflare/pq';
import type { DeviceIdentity, IdentityStore, RotatedKey } from '@qflare/participant';
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

	/** Keeps a new key beside the current one (in the same record), before its rotation is sent. */
	async stagePending(projectId: string, identity: RotatedKey): Promise<void> {
		const { publicKey, secretKey, deviceId } = identity;
		await this.edit(projectId, (current) => ({ ...current, pending: { publicKey, secretKey, deviceId } }));
	}

	/** The old secret key is overwritten, and any staged key dropped: after the rotation it opens nothing any more. */
	async replace(projectId: string, identity: RotatedKey): Promise<void> {
		const { publicKey, secretKey, deviceId } = identity;
		await (await localDb()).put('identity', { publicKey, secretKey, deviceId }, projectId);
	}

	async clearPending(projectId: string): Promise<void> {
		await this.edit(projectId, ({ pending: _dropped, ...current }) => current);
	}

	/** Rewrites the project's identity in one transaction; there must be one (a rotation starts from it). */
	private async edit(projectId: string, change: (current: DeviceIdentity) => DeviceIdentity): Promise<void> {
		const tx = (await localDb()).transaction('identity', 'readwrite');
		const current = await tx.store.get(projectId);
		if (!current) {
			tx.abort();
			await tx.done.catch(() => undefined);
			throw new Error(`no device identity for project ${projectId}`);
		}
		await tx.store.put(change(current), projectId);
		await tx.done;
	}
}
