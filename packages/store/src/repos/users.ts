import type { User } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { UserDoc } from '../collections';
import type { Clock } from '../docs';
import type { CollectionPort } from '../port';

export interface NewUser {
	email: string;
	name: string;
	/** The caller's scrypt string; the store never sees a password. */
	passwordHash: string;
	/** The id to give the user (a UUID), when the caller needs it before the user exists; default a new UUID. */
	id?: string;
}

export interface UserRepository {
	/** DuplicateKeyError when the e-mail is taken (unique index). */
	create(user: NewUser): Promise<User>;
	get(id: string): Promise<User | null>;
	getByEmail(email: string): Promise<User | null>;
	/** The only way the stored hash leaves the store. */
	passwordHash(id: string): Promise<string | null>;
	setPasswordHash(id: string, hash: string): Promise<void>;
	count(): Promise<number>;
	/** By e-mail; unknown ids are skipped. */
	list(ids: readonly string[]): Promise<User[]>;
}

/** Login names compare lower-cased; normalising here too keeps "A@x" and "a@x" one account whatever the caller did. */
const normalEmail = (email: string) => email.trim().toLowerCase();

function toUser(doc: UserDoc): User {
	return { id: doc._id, email: doc.email, name: doc.name, createdAt: doc.createdAt };
}

export function userRepository(col: CollectionPort<UserDoc>, clock: Clock): UserRepository {
	const out = (doc: UserDoc | null) => (doc ? toUser(doc) : null);
	return {
		async create(user) {
			const doc: UserDoc = {
				_id: user.id ?? randomUUID(),
				email: normalEmail(user.email),
				name: user.name,
				passwordHash: user.passwordHash,
				createdAt: clock().toISOString()
			};
			await col.insertOne(doc);
			return toUser(doc);
		},
		async get(id) {
			return out(await col.findOne({ _id: id }));
		},
		async getByEmail(email) {
			return out(await col.findOne({ email: normalEmail(email) }));
		},
		async passwordHash(id) {
			return (await col.findOne({ _id: id }))?.passwordHash ?? null;
		},
		async setPasswordHash(id, hash) {
			await col.updateOne({ _id: id }, { $set: { passwordHash: hash } });
		},
		count() {
			return col.countDocuments({});
		},
		async list(ids) {
			if (ids.length === 0) return [];
			return (await col.find({ _id: { $in: ids } }, { sort: { email: 1 } })).map(toUser);
		}
	};
}
