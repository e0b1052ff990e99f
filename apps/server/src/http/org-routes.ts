import { can, ChangeRoleBody, CreateOrganisationBody, ErrorCode, lowerRole, ProtocolError, SCOPE_ROLE, type Member, type Membership, type Role } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import express, { type Request } from 'express';
import { z } from 'zod';
import { organisationOf, principalOf, requireOrgRight, requirePrincipal, requireSession } from '../auth/authorize';
import type { Principal } from '../auth/principal';
import { SerialQueue } from '../rounds/serial-queue';
import type { ApiDeps } from './deps';
import { pathParam, queryParam } from './params';
import { auditRequest } from './request-audit';

const AuditQuery = z.object({
	limit: z.coerce.number().int().min(1).max(1_000).default(200),
	action: z.string().min(1).max(100).optional()
});

async function memberOf(store: Store, organisationId: string, userId: string): Promise<Membership> {
	const membership = await store.memberships.get(organisationId, userId);
	if (!membership) throw new ProtocolError(ErrorCode.NotFound, `no member ${userId} in this organisation`);
	return membership;
}

/** The caller's role in the organisation as the store has it now (an earlier change in the queue may have lowered it). */
async function currentRole(store: Store, principal: Principal, organisationId: string): Promise<Role> {
	const membership = await store.memberships.get(organisationId, principal.user.id);
	if (!membership) throw new ProtocolError(ErrorCode.NotFound, `no organisation ${organisationId}`);
	return principal.apiKey ? lowerRole(membership.role, SCOPE_ROLE[principal.apiKey.scope]) : membership.role;
}

/**
 * Making or unmaking an owner takes an owner; an organisation always keeps at least one. Runs
 * inside the organisation's member queue, so the count and the write that follows are one step.
 */
async function checkOwnerChange(store: Store, req: Request, target: Membership, newRole: Role | null): Promise<void> {
	const { id } = organisationOf(req);
	const role = await currentRole(store, principalOf(req), id);
	if (!can(role, 'members.manage')) throw new ProtocolError(ErrorCode.Forbidden, `your role (${role}) does not allow members.manage`);
	if ((target.role === 'owner' || newRole === 'owner') && !can(role, 'owner.manage')) {
		throw new ProtocolError(ErrorCode.Forbidden, 'only an owner can make or change an owner');
	}
	if (target.role === 'owner' && newRole !== 'owner') {
		const owners = (await store.memberships.listByOrganisation(id)).filter((m) => m.role === 'owner');
		if (owners.length <= 1) throw new ProtocolError(ErrorCode.Conflict, 'the last owner cannot be demoted or removed');
	}
}

/** Organisations, their members and their audit log. */
export function orgRoutes({ store, dashboard }: ApiDeps): express.Router {
	const router = express.Router();
	// Member changes of one organisation run one at a time: two owners demoting each other at
	// once must not both pass the last-owner check.
	const memberChanges = new SerialQueue();

	router.get('/orgs', requirePrincipal, async (req, res) => {
		const { roles } = principalOf(req);
		const organisations = await store.organisations.list([...roles.keys()]);
		res.json(organisations.map((o) => ({ ...o, role: roles.get(o.id) })));
	});

	router.post('/orgs', requireSession, async (req, res) => {
		const principal = principalOf(req);
		const { name } = CreateOrganisationBody.parse(req.body);
		const organisation = await store.organisations.create(name);
		await store.memberships.add({ organisationId: organisation.id, userId: principal.user.id, role: 'owner' });
		await auditRequest(store, req, {
			organisationId: organisation.id,
			action: 'organisation.created',
			target: { type: 'organisation', id: organisation.id },
			details: { name }
		});
		res.status(201).json({ ...organisation, role: 'owner' });
	});

	router.get('/orgs/:org/members', requireOrgRight('members.read'), async (req, res) => {
		const memberships = await store.memberships.listByOrganisation(organisationOf(req).id);
		const users = new Map((await store.users.list(memberships.map((m) => m.userId))).map((u) => [u.id, u]));
		const members: Member[] = memberships.flatMap((m) => {
			const user = users.get(m.userId);
			return user ? [{ ...m, email: user.email, name: user.name }] : [];
		});
		res.json(members);
	});

	router.patch('/orgs/:org/members/:userId', requireOrgRight('members.manage'), async (req, res) => {
		const organisationId = organisationOf(req).id;
		const { role } = ChangeRoleBody.parse(req.body);
		const { target, updated } = await memberChanges.run(organisationId, async () => {
			const target = await memberOf(store, organisationId, pathParam(req, 'userId'));
			await checkOwnerChange(store, req, target, role);
			const updated = await store.memberships.setRole(organisationId, target.userId, role);
			if (!updated) throw new ProtocolError(ErrorCode.NotFound, `no member ${target.userId} in this organisation`);
			return { target, updated };
		});
		// Its dashboards reconnect with the new role.
		dashboard.disconnectUser(target.userId);
		await auditRequest(store, req, {
			organisationId,
			action: 'member.roleChanged',
			target: { type: 'user', id: target.userId },
			details: { from: target.role, to: role }
		});
		res.json(updated);
	});

	router.delete('/orgs/:org/members/:userId', requireOrgRight('members.manage'), async (req, res) => {
		const organisationId = organisationOf(req).id;
		const target = await memberChanges.run(organisationId, async () => {
			const target = await memberOf(store, organisationId, pathParam(req, 'userId'));
			await checkOwnerChange(store, req, target, null);
			await store.memberships.remove(organisationId, target.userId);
			return target;
		});
		// The member's keys in this organisation die with the membership, for good: were the user
		// invited again, they would otherwise come back to life.
		const now = new Date().toISOString();
		const keys = (await store.apiKeys.listByOrganisation(organisationId, { userId: target.userId })).filter((k) => k.revokedAt === null);
		for (const key of keys) {
			await store.apiKeys.revoke(key.id, now);
			dashboard.disconnectApiKey(key.id);
			await auditRequest(store, req, {
				organisationId,
				action: 'apiKey.revoked',
				target: { type: 'apiKey', id: key.id },
				details: { name: key.name, reason: 'member removed' }
			});
		}
		dashboard.disconnectUser(target.userId);
		await auditRequest(store, req, {
			organisationId,
			action: 'member.removed',
			target: { type: 'user', id: target.userId },
			details: { role: target.role, apiKeysRevoked: keys.length }
		});
		res.json({ ok: true });
	});

	router.get('/orgs/:org/audit', requireOrgRight('audit.read'), async (req, res) => {
		const query = AuditQuery.parse({ limit: queryParam(req, 'limit'), action: queryParam(req, 'action') });
		res.json(await store.audit.list(organisationOf(req).id, query));
	});

	return router;
}
