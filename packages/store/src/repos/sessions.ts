import { randomUUID } from 'node:crypto';
import type { SessionDoc } from '../collections';
import type { Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

/** A signed-in browser; the cookie's token is stored only as its sha256. */
export interface SessionRecord {
	id: string;
	userId: string;
	createdAt: string;
	expiresAt: string;
	lastSeenAt: string;
	address: string;
	userAgent: string;
}

export interface NewSession {
	userId: string;
	/** sha256 hex of the cookie token. */
	tokenHash: string;
	expiresAt: string;
	address: string;
	userAgent: string;
}

export interface SessionRepository {
	/** DuplicateKeyError on a tokenHash clash (unique index). */
	create(session: NewSession): Promise<SessionRecord>;
	/** Expired sessions are returned too: the caller checks expiresAt. */
	getByHash(tokenHash: string): Promise<SessionRecord | null>;
	touch(id: string, at: string): Promise<void>;
	delete(id: string): Promise<void>;
	/** Sign-out everywhere, optionally keeping one session (the caller's); returns how many ended. */
	deleteByUser(userId: string, options?: { except?: string }): Promise<number>;
}

function toSession(doc: SessionDoc): SessionRecord {
	const { _id, tokenHash: _hash, ...rest } = doc;
	return { id: _id, ...rest };
}

export function sessionRepository(col: CollectionPort<SessionDoc>, clock: Clock): SessionRepository {
	return {
		async create(session) {
			const now = clock().toISOString();
			const doc: SessionDoc = {
				_id: randomUUID(),
				userId: session.userId,
				tokenHash: session.tokenHash,
				createdAt: now,
				expiresAt: session.expiresAt,
				lastSeenAt: now,
				address: session.address,
				userAgent: session.userAgent
			};
			await col.insertOne(doc);
			return toSession(doc);
		},
		async getByHash(tokenHash) {
			const doc = await col.findOne({ tokenHash });
			return doc ? toSession(doc) : null;
		},
		async touch(id, at) {
			await col.updateOne({ _id: id }, { $set: { lastSeenAt: at } });
		},
		async delete(id) {
			await col.deleteMany({ _id: id });
		},
		deleteByUser(userId, options = {}) {
			const filter: Filter<SessionDoc> = options.except === undefined ? { userId } : { userId, _id: { $ne: options.except } };
			return col.deleteMany(filter);
		}
	};
}
