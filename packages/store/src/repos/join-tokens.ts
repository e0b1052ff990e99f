import type { JoinTokenRecord } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { JoinTokenDoc } from '../collections';
import { fromStored, type Clock } from '../docs';
import type { CollectionPort } from '../port';

export type NewJoinToken = Pick<JoinTokenRecord, 'projectId' | 'label' | 'prefix' | 'createdBy' | 'expiresAt' | 'maxDevices'> & {
	/** sha256 hex of the whole `qjt_` token. */
	tokenHash: string;
};

export interface JoinTokenRepository {
	/** DuplicateKeyError on a tokenHash clash (unique index). */
	create(token: NewJoinToken): Promise<JoinTokenRecord>;
	/** Revoked, expired and used-up tokens are returned too: the caller checks them (claimDevice does, atomically). */
	getByHash(tokenHash: string): Promise<JoinTokenRecord | null>;
	/** Null when the token belongs to another project. */
	get(projectId: string, id: string): Promise<JoinTokenRecord | null>;
	/** Newest first. */
	listByProject(projectId: string): Promise<JoinTokenRecord[]>;
	/**
	 * Atomically counts one more device in, only while the token is unrevoked, unexpired at
	 * `now` and under maxDevices; null otherwise (no slot was taken).
	 */
	claimDevice(id: string, now: string): Promise<JoinTokenRecord | null>;
	/** Null when the token is not the project's; revoking twice keeps the first revokedAt. */
	revoke(projectId: string, id: string, at: string): Promise<JoinTokenRecord | null>;
}

/** Stands for "no limit" and "never": above any real count or epoch millisecond, and exact as a double. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

function toRecord(doc: JoinTokenDoc): JoinTokenRecord {
	const { tokenHash: _hash, slotsLeft: _slots, expiresAtMs: _ms, ...rest } = doc;
	return fromStored<JoinTokenRecord>(rest);
}

export function joinTokenRepository(col: CollectionPort<JoinTokenDoc>, clock: Clock): JoinTokenRepository {
	const out = (doc: JoinTokenDoc | null) => (doc ? toRecord(doc) : null);
	const get = async (projectId: string, id: string) => out(await col.findOne({ _id: id, projectId }));
	return {
		async create(token) {
			const doc: JoinTokenDoc = {
				_id: randomUUID(),
				projectId: token.projectId,
				label: token.label,
				prefix: token.prefix,
				createdBy: token.createdBy,
				createdAt: clock().toISOString(),
				expiresAt: token.expiresAt,
				maxDevices: token.maxDevices,
				devicesJoined: 0,
				revokedAt: null,
				tokenHash: token.tokenHash,
				slotsLeft: token.maxDevices ?? UNLIMITED,
				expiresAtMs: token.expiresAt === null ? UNLIMITED : Date.parse(token.expiresAt)
			};
			await col.insertOne(doc);
			return toRecord(doc);
		},
		async getByHash(tokenHash) {
			return out(await col.findOne({ tokenHash }));
		},
		get,
		async listByProject(projectId) {
			return (await col.find({ projectId }, { sort: { createdAt: -1, _id: 1 } })).map(toRecord);
		},
		async claimDevice(id, now) {
			// One guarded findOneAndUpdate: the slot check and the count move together, so
			// racing registrations can never take more than maxDevices slots.
			const doc = await col.findOneAndUpdate(
				{ _id: id, revokedAt: null, slotsLeft: { $gt: 0 }, expiresAtMs: { $gt: Date.parse(now) } },
				{ $inc: { slotsLeft: -1, devicesJoined: 1 } }
			);
			return out(doc);
		},
		async revoke(projectId, id, at) {
			const revoked = await col.findOneAndUpdate({ _id: id, projectId, revokedAt: null }, { $set: { revokedAt: at } });
			return revoked ? toRecord(revoked) : get(projectId, id);
		}
	};
}
