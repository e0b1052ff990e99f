import { can, CreateApiKeyBody, ErrorCode, ProtocolError, roleAtLeast, SCOPE_ROLE, type CreatedApiKey } from '@qflare/protocol';
import express from 'express';
import { organisationOf, principalOf, requireOrgRight, requireSession } from '../auth/authorize';
import { newApiKey } from '../auth/tokens';
import type { ApiDeps } from './deps';
import { DAY_MS, expiresAfter } from './expiry';
import { pathParam } from './params';
import { auditRequest } from './request-audit';

/** API keys of an organisation: everyone manages their own, admins every key. */
export function apiKeyRoutes({ store, dashboard }: ApiDeps): express.Router {
	const router = express.Router();

	router.get('/orgs/:org/api-keys', requireOrgRight('apiKey.createOwn'), async (req, res) => {
		const { id, role } = organisationOf(req);
		const own = can(role, 'apiKey.manageAll') ? {} : { userId: principalOf(req).user.id };
		res.json(await store.apiKeys.listByOrganisation(id, own));
	});

	// Session only: a leaked key must not be able to mint more keys.
	router.post('/orgs/:org/api-keys', requireOrgRight('apiKey.createOwn'), requireSession, async (req, res) => {
		const principal = principalOf(req);
		const organisation = organisationOf(req);
		const body = CreateApiKeyBody.parse(req.body);
		if (!roleAtLeast(organisation.role, SCOPE_ROLE[body.scope])) {
			throw new ProtocolError(ErrorCode.Forbidden, `a ${organisation.role} cannot create a key of scope ${body.scope}`);
		}
		const made = newApiKey();
		const record = await store.apiKeys.create({
			id: made.id,
			organisationId: organisation.id,
			userId: principal.user.id,
			name: body.name,
			scope: body.scope,
			prefix: made.prefix,
			expiresAt: expiresAfter(body.expiresInDays, DAY_MS),
			secretHash: made.secretHash
		});
		await auditRequest(store, req, {
			organisationId: organisation.id,
			action: 'apiKey.created',
			target: { type: 'apiKey', id: record.id },
			details: { name: record.name, scope: record.scope, expiresAt: record.expiresAt }
		});
		const created: CreatedApiKey = { record, key: made.key };
		res.status(201).json(created);
	});

	router.delete('/orgs/:org/api-keys/:keyId', requireOrgRight('apiKey.createOwn'), async (req, res) => {
		const principal = principalOf(req);
		const organisation = organisationOf(req);
		const id = pathParam(req, 'keyId');
		const key = await store.apiKeys.get(id);
		if (!key || key.organisationId !== organisation.id) throw new ProtocolError(ErrorCode.NotFound, `no API key ${id}`);
		if (key.userId !== principal.user.id && !can(organisation.role, 'apiKey.manageAll')) {
			throw new ProtocolError(ErrorCode.Forbidden, "only an admin can revoke another member's key");
		}
		const revoked = (await store.apiKeys.revoke(id, new Date().toISOString())) ?? key;
		dashboard.disconnectApiKey(id);
		await auditRequest(store, req, {
			organisationId: organisation.id,
			action: 'apiKey.revoked',
			target: { type: 'apiKey', id },
			details: { name: key.name }
		});
		res.json(revoked);
	});

	return router;
}
