import type { ApiKeyRecord } from '@qflare/protocol';
import type { ApiKeyDoc } from '../collections';
import { fromStored, type Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

/** The caller makes the id (it is part of the key) and hashes the secret. */
export type NewApiKey = Omit<ApiKeyRecord, 'createdAt' | 'lastUsedAt' | 'revokedAt'> & { secretHash: string };

export interface ApiKeyRepository {
	/** DuplicateKeyError when the id exists. */
	create(key: NewApiKey): Promise<ApiKeyRecord>;
	/** For verifying a presented key; the only way the hash leaves the store. */
	getWithHash(id: string): Promise<(ApiKeyRecord & { secretHash: string }) | null>;
	get(id: string): Promise<ApiKeyRecord | null>;
	/** Newest first, revoked keys included; `userId` narrows to one user's keys. */
	listByOrganisation(organisationId: string, options?: { userId?: string }): Promise<ApiKeyRecord[]>;
	touch(id: string, at: string): Promise<void>;
	/** Null when there is no such key; revoking twice keeps the first revokedAt. */
	revoke(id: string, at: string): Promise<ApiKeyRecord | null>;
}

function toRecord(doc: ApiKeyDoc): ApiKeyRecord {
	const { secretHash: _hash, ...rest } = doc;
	return fromStored<ApiKeyRecord>(rest);
}

export function apiKeyRepository(col: CollectionPort<ApiKeyDoc>, clock: Clock): ApiKeyRepository {
	const out = (doc: ApiKeyDoc | null) => (doc ? toRecord(doc) : null);
	const get = async (id: string) => out(await col.findOne({ _id: id }));
	return {
		async create(key) {
			const doc: ApiKeyDoc = {
				_id: key.id,
				organisationId: key.organisationId,
				userId: key.userId,
				name: key.name,
				scope: key.scope,
				prefix: key.prefix,
				createdAt: clock().toISOString(),
				expiresAt: key.expiresAt,
				lastUsedAt: null,
				revokedAt: null,
				secretHash: key.secretHash
			};
			await col.insertOne(doc);
			return toRecord(doc);
		},
		async getWithHash(id) {
			const doc = await col.findOne({ _id: id });
			return doc ? { ...toRecord(doc), secretHash: doc.secretHash } : null;
		},
		get,
		async listByOrganisation(organisationId, options = {}) {
			const filter: Filter<ApiKeyDoc> = options.userId === undefined ? { organisationId } : { organisationId, userId: options.userId };
			return (await col.find(filter, { sort: { createdAt: -1, _id: 1 } })).map(toRecord);
		},
		async touch(id, at) {
			await col.updateOne({ _id: id }, { $set: { lastUsedAt: at } });
		},
		async revoke(id, at) {
			const revoked = await col.findOneAndUpdate({ _id: id, revokedAt: null }, { $set: { revokedAt: at } });
			return revoked ? toRecord(revoked) : get(id);
		}
	};
}
