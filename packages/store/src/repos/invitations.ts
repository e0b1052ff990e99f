import type { Invitation } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { InvitationDoc } from '../collections';
import { fromStored, type Clock } from '../docs';
import type { CollectionPort } from '../port';

export type NewInvitation = Pick<Invitation, 'organisationId' | 'role' | 'email' | 'createdBy' | 'expiresAt'> & {
	/** sha256 hex of the `qin_` token. */
	tokenHash: string;
};

export interface InvitationRepository {
	/** DuplicateKeyError on a tokenHash clash (unique index). */
	create(invitation: NewInvitation): Promise<Invitation>;
	/** Used, revoked and expired invitations are returned too: the caller tells them apart. */
	getByHash(tokenHash: string): Promise<Invitation | null>;
	get(id: string): Promise<Invitation | null>;
	/** Newest first. */
	listByOrganisation(organisationId: string): Promise<Invitation[]>;
	/**
	 * Atomic: marks the invitation accepted only while it is unused, unrevoked and not expired
	 * at `at`; null otherwise (so of two racing accepts exactly one gets the invitation).
	 */
	accept(id: string, userId: string, at: string): Promise<Invitation | null>;
	/** Null when there is no such invitation; revoking twice keeps the first revokedAt. */
	revoke(id: string, at: string): Promise<Invitation | null>;
}

function toInvitation(doc: InvitationDoc): Invitation {
	const { tokenHash: _hash, expiresAtMs: _ms, ...rest } = doc;
	return fromStored<Invitation>(rest);
}

export function invitationRepository(col: CollectionPort<InvitationDoc>, clock: Clock): InvitationRepository {
	const out = (doc: InvitationDoc | null) => (doc ? toInvitation(doc) : null);
	const get = async (id: string) => out(await col.findOne({ _id: id }));
	return {
		async create(invitation) {
			const doc: InvitationDoc = {
				_id: randomUUID(),
				organisationId: invitation.organisationId,
				role: invitation.role,
				email: invitation.email,
				createdBy: invitation.createdBy,
				createdAt: clock().toISOString(),
				expiresAt: invitation.expiresAt,
				acceptedBy: null,
				acceptedAt: null,
				revokedAt: null,
				tokenHash: invitation.tokenHash,
				expiresAtMs: Date.parse(invitation.expiresAt)
			};
			await col.insertOne(doc);
			return toInvitation(doc);
		},
		async getByHash(tokenHash) {
			return out(await col.findOne({ tokenHash }));
		},
		get,
		async listByOrganisation(organisationId) {
			return (await col.find({ organisationId }, { sort: { createdAt: -1, _id: 1 } })).map(toInvitation);
		},
		async accept(id, userId, at) {
			// The filter is the guard: one findOneAndUpdate, so no second accept can slip in between.
			const doc = await col.findOneAndUpdate(
				{ _id: id, acceptedBy: null, revokedAt: null, expiresAtMs: { $gt: Date.parse(at) } },
				{ $set: { acceptedBy: userId, acceptedAt: at } }
			);
			return out(doc);
		},
		async revoke(id, at) {
			const revoked = await col.findOneAndUpdate({ _id: id, revokedAt: null }, { $set: { revokedAt: at } });
			return revoked ? toInvitation(revoked) : get(id);
		}
	};
}
