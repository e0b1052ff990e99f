import type { Membership, Role } from '@qflare/protocol';
import type { MembershipDoc } from '../collections';
import type { Clock } from '../docs';
import { DuplicateKeyError } from '../errors';
import type { CollectionPort } from '../port';

export interface MembershipRepository {
	/** Adds the user to the organisation, or replaces its role there (keeping addedAt). */
	add(membership: Pick<Membership, 'organisationId' | 'userId' | 'role'>): Promise<Membership>;
	get(organisationId: string, userId: string): Promise<Membership | null>;
	/** Oldest first. */
	listByUser(userId: string): Promise<Membership[]>;
	/** Oldest first. */
	listByOrganisation(organisationId: string): Promise<Membership[]>;
	/** Null when the user is not a member. */
	setRole(organisationId: string, userId: string, role: Role): Promise<Membership | null>;
	/** False when the user was not a member. */
	remove(organisationId: string, userId: string): Promise<boolean>;
}

const key = (organisationId: string, userId: string) => `${organisationId}:${userId}`;

function toMembership(doc: MembershipDoc): Membership {
	return { organisationId: doc.organisationId, userId: doc.userId, role: doc.role, addedAt: doc.addedAt };
}

export function membershipRepository(col: CollectionPort<MembershipDoc>, clock: Clock): MembershipRepository {
	const out = (doc: MembershipDoc | null) => (doc ? toMembership(doc) : null);
	const setRole = async (organisationId: string, userId: string, role: Role) =>
		out(await col.findOneAndUpdate({ _id: key(organisationId, userId) }, { $set: { role } }));
	return {
		async add({ organisationId, userId, role }) {
			const doc: MembershipDoc = { _id: key(organisationId, userId), organisationId, userId, role, addedAt: clock().toISOString() };
			// Insert first and fall back to an update, as devices do: atomic on every backend and
			// no $setOnInsert (which FerretDB mishandles).
			try {
				await col.insertOne(doc);
				return toMembership(doc);
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
			}
			const updated = await setRole(organisationId, userId, role);
			if (!updated) throw new Error(`membership ${doc._id} vanished during add`);
			return updated;
		},
		async get(organisationId, userId) {
			return out(await col.findOne({ _id: key(organisationId, userId) }));
		},
		async listByUser(userId) {
			return (await col.find({ userId }, { sort: { addedAt: 1, organisationId: 1 } })).map(toMembership);
		},
		async listByOrganisation(organisationId) {
			return (await col.find({ organisationId }, { sort: { addedAt: 1, userId: 1 } })).map(toMembership);
		},
		setRole,
		async remove(organisationId, userId) {
			return (await col.deleteMany({ _id: key(organisationId, userId) })) > 0;
		}
	};
}
