import { CreateJoinTokenBody, ErrorCode, JOIN_TOKEN_PARAM, ProtocolError, type CreatedJoinToken } from '@qflare/protocol';
import express from 'express';
import { principalOf, projectOf, requireProjectRight } from '../auth/authorize';
import { liveJoinToken } from '../auth/join-tokens';
import { bearerToken } from '../auth/principal';
import { newJoinToken } from '../auth/tokens';
import { participantView } from '../sockets/participant-namespace';
import type { ApiDeps } from './deps';
import { expiresAfter, HOUR_MS } from './expiry';
import { pathParam } from './params';
import { limitKey, refuseIfLimited } from './rate-limit';
import { auditRequest } from './request-audit';

/** The participant page's view of a project (with its join token), and the join tokens coordinators hand out. */
export function joinRoutes({ store, rateLimits }: ApiDeps): express.Router {
	const router = express.Router();
	const manage = requireProjectRight(store, 'joinToken.manage');

	router.get('/join/:id', async (req, res) => {
		const address = limitKey(req);
		await refuseIfLimited(rateLimits, 'badJoinToken', address);
		const projectId = pathParam(req, 'id');
		const token = bearerToken(req.headers);
		const record = token ? await liveJoinToken(store, projectId, token) : null;
		const project = record ? await store.projects.get(projectId) : null;
		if (!project) {
			await rateLimits.consume('badJoinToken', address);
			throw new ProtocolError(ErrorCode.JoinTokenInvalid, 'this join link is not valid (revoked, expired or for another project): ask the coordinator for a new one');
		}
		res.json(participantView(project));
	});

	router.get('/projects/:id/join-tokens', manage, async (req, res) => {
		res.json(await store.joinTokens.listByProject(projectOf(req).project.id));
	});

	router.post('/projects/:id/join-tokens', manage, async (req, res) => {
		const { project } = projectOf(req);
		const principal = principalOf(req);
		const body = CreateJoinTokenBody.parse(req.body ?? {});
		const made = newJoinToken();
		const record = await store.joinTokens.create({
			projectId: project.id,
			label: body.label,
			prefix: made.prefix,
			tokenHash: made.tokenHash,
			createdBy: principal.user.id,
			expiresAt: expiresAfter(body.expiresInHours, HOUR_MS),
			maxDevices: body.maxDevices
		});
		await auditRequest(store, req, {
			organisationId: project.organisationId,
			action: 'joinToken.created',
			target: { type: 'joinToken', id: record.id },
			details: { projectId: project.id, label: record.label, expiresAt: record.expiresAt, maxDevices: record.maxDevices }
		});
		const created: CreatedJoinToken = { record, token: made.token, path: `/join/${project.id}?${JOIN_TOKEN_PARAM}=${encodeURIComponent(made.token)}` };
		res.status(201).json(created);
	});

	router.delete('/projects/:id/join-tokens/:tokenId', manage, async (req, res) => {
		const { project } = projectOf(req);
		const tokenId = pathParam(req, 'tokenId');
		const revoked = await store.joinTokens.revoke(project.id, tokenId, new Date().toISOString());
		if (!revoked) throw new ProtocolError(ErrorCode.NotFound, `no join token ${tokenId} in this project`);
		await auditRequest(store, req, {
			organisationId: project.organisationId,
			action: 'joinToken.revoked',
			target: { type: 'joinToken', id: tokenId },
			details: { projectId: project.id, label: revoked.label }
		});
		res.json(revoked);
	});

	return router;
}
