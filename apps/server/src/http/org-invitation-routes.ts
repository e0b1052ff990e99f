import { can, CreateInvitationBody, ErrorCode, ProtocolError, type CreatedInvitation } from '@qflare/protocol';
import express from 'express';
import { organisationOf, principalOf, requireOrgRight, requireSession } from '../auth/authorize';
import { newInvitationToken } from '../auth/tokens';
import type { ApiDeps } from './deps';
import { expiresAfter, HOUR_MS } from './expiry';
import { pathParam } from './params';
import { auditRequest } from './request-audit';

/** An organisation's invitation links: list, create (the token shown once), revoke. */
export function orgInvitationRoutes({ store }: ApiDeps): express.Router {
	const router = express.Router();

	router.get('/orgs/:org/invitations', requireOrgRight('members.manage'), async (req, res) => {
		res.json(await store.invitations.listByOrganisation(organisationOf(req).id));
	});

	// Session only: an invitation makes an account, which can mint keys; a leaked key must not.
	router.post('/orgs/:org/invitations', requireOrgRight('members.manage'), requireSession, async (req, res) => {
		const principal = principalOf(req);
		const organisation = organisationOf(req);
		const body = CreateInvitationBody.parse(req.body);
		if (body.role === 'owner' && !can(organisation.role, 'owner.manage')) throw new ProtocolError(ErrorCode.Forbidden, 'only an owner can invite an owner');
		const { token, tokenHash } = newInvitationToken();
		const invitation = await store.invitations.create({
			organisationId: organisation.id,
			role: body.role,
			email: body.email ?? null,
			tokenHash,
			createdBy: principal.user.id,
			expiresAt: expiresAfter(body.expiresInHours, HOUR_MS)
		});
		await auditRequest(store, req, {
			organisationId: organisation.id,
			action: 'member.invited',
			target: { type: 'invitation', id: invitation.id },
			details: { role: body.role, email: body.email ?? null }
		});
		const created: CreatedInvitation = { invitation, token, path: `/invite?token=${encodeURIComponent(token)}` };
		res.status(201).json(created);
	});

	router.delete('/orgs/:org/invitations/:invitationId', requireOrgRight('members.manage'), async (req, res) => {
		const organisationId = organisationOf(req).id;
		const id = pathParam(req, 'invitationId');
		const invitation = await store.invitations.get(id);
		if (!invitation || invitation.organisationId !== organisationId) throw new ProtocolError(ErrorCode.NotFound, `no invitation ${id}`);
		if (invitation.acceptedBy !== null || invitation.revokedAt !== null) throw new ProtocolError(ErrorCode.Conflict, 'the invitation was already accepted or revoked');
		const revoked = await store.invitations.revoke(id, new Date().toISOString());
		if (!revoked) throw new ProtocolError(ErrorCode.Conflict, 'the invitation was already accepted or revoked');
		await auditRequest(store, req, {
			organisationId,
			action: 'invitation.revoked',
			target: { type: 'invitation', id },
			details: {}
		});
		res.json(revoked);
	});

	return router;
}
