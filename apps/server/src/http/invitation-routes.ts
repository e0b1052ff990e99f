import { randomUUID } from 'node:crypto';
import { AcceptInvitationBody, ErrorCode, ProtocolError, roleAtLeast, type Invitation, type InvitationPreview } from '@qflare/protocol';
import { DuplicateKeyError, type Store } from '@qflare/store';
import express from 'express';
import { recordAudit } from '../auth/audit';
import { optionalPrincipal } from '../auth/authorize';
import { hashPassword } from '../auth/passwords';
import { hasTokenShape, INVITATION_PREFIX, sha256Hex } from '../auth/tokens';
import type { ApiDeps } from './deps';
import { meOf } from './me';
import { clientAddress, consumeOrRefuse, limitKey } from './rate-limit';
import { startSession } from './sessions';

const GONE = 'this invitation link is unknown, used, revoked or expired';

/** The invitation a token opens, if it can still be accepted; the same 404 for every reason it cannot. */
async function openInvitation(store: Store, token: string): Promise<Invitation> {
	const invitation = hasTokenShape(token, INVITATION_PREFIX) ? await store.invitations.getByHash(sha256Hex(token)) : null;
	if (!invitation || invitation.acceptedBy !== null || invitation.revokedAt !== null || Date.parse(invitation.expiresAt) <= Date.now()) {
		throw new ProtocolError(ErrorCode.NotFound, GONE);
	}
	return invitation;
}

/** Invitation links: what one offers, and accepting it as a new or a signed-in user. */
export function invitationRoutes({ store, rateLimits }: ApiDeps): express.Router {
	const router = express.Router();

	router.get('/invitations/:token', async (req, res) => {
		await consumeOrRefuse(rateLimits, 'invitation', limitKey(req));
		const invitation = await openInvitation(store, String(req.params.token));
		const organisation = await store.organisations.get(invitation.organisationId);
		if (!organisation) throw new ProtocolError(ErrorCode.NotFound, GONE);
		const preview: InvitationPreview = { organisationName: organisation.name, role: invitation.role, email: invitation.email, expiresAt: invitation.expiresAt };
		res.json(preview);
	});

	router.post('/invitations/accept', async (req, res) => {
		await consumeOrRefuse(rateLimits, 'invitation', limitKey(req));
		const body = AcceptInvitationBody.parse(req.body);
		const principal = optionalPrincipal(req);
		if (principal && principal.via !== 'session') throw new ProtocolError(ErrorCode.Forbidden, 'accept invitations signed in, not with an API key');
		const invitation = await openInvitation(store, body.token);

		const claim = async (userId: string) => {
			// Accepting is atomic: of two racing accepts only one gets the invitation.
			if (!(await store.invitations.accept(invitation.id, userId, new Date().toISOString()))) throw new ProtocolError(ErrorCode.NotFound, GONE);
		};
		let user = principal?.user ?? null;
		if (!user) {
			if (!body.email || !body.password || !body.name) {
				throw new ProtocolError(ErrorCode.SchemaInvalid, 'a new account needs email, password and name (or sign in first)');
			}
			if (invitation.email !== null && invitation.email !== body.email) throw new ProtocolError(ErrorCode.Forbidden, 'this invitation is for another e-mail address');
			/*
			 * Order: check the e-mail is free, claim the invitation, then create the account. Claiming
			 * first means a losing racer creates nothing (no orphan account without an organisation).
			 * Claiming cannot be undone, so the cheap, likely failure (the e-mail has an account) is
			 * ruled out before it; the account's id is chosen up front so the claim can name it. Only
			 * if the e-mail was taken in the moment between the check and the create does the
			 * invitation end up accepted but unused: 409, and the audit log says so.
			 */
			if (await store.users.getByEmail(body.email)) throw new ProtocolError(ErrorCode.Conflict, 'an account with this e-mail exists: sign in, then accept');
			const passwordHash = await hashPassword(body.password);
			const id = randomUUID();
			await claim(id);
			try {
				user = await store.users.create({ id, email: body.email, name: body.name, passwordHash });
			} catch (e) {
				if (!(e instanceof DuplicateKeyError)) throw e;
				await recordAudit(store, clientAddress(req), {
					organisationId: invitation.organisationId,
					actor: { type: 'system', id: 'invitations', label: 'invitation acceptance' },
					action: 'invitation.unused',
					target: { type: 'invitation', id: invitation.id },
					details: { reason: 'the e-mail got an account while the invitation was accepted', email: body.email }
				});
				throw new ProtocolError(ErrorCode.Conflict, 'an account with this e-mail exists: sign in, then ask for a new invitation');
			}
		} else {
			if (invitation.email !== null && invitation.email !== user.email) throw new ProtocolError(ErrorCode.Forbidden, 'this invitation is for another e-mail address');
			await claim(user.id);
		}

		const existing = await store.memberships.get(invitation.organisationId, user.id);
		// An invitation never lowers the role of someone already in the organisation.
		const role = existing && roleAtLeast(existing.role, invitation.role) ? existing.role : invitation.role;
		await store.memberships.add({ organisationId: invitation.organisationId, userId: user.id, role });
		await recordAudit(store, clientAddress(req), {
			organisationId: invitation.organisationId,
			actor: { type: 'user', id: user.id, label: user.email },
			action: 'member.joined',
			target: { type: 'user', id: user.id },
			details: { role, invitation: invitation.id }
		});
		const sessionId = principal?.sessionId ?? (await startSession(store, req, res, user.id));
		const memberships = await store.memberships.listByUser(user.id);
		res.json(await meOf(store, { user, via: 'session', sessionId, apiKey: null, roles: new Map(memberships.map((m) => [m.organisationId, m.role])) }));
	});

	return router;
}
