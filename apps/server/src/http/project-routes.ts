import { randomUUID } from 'node:crypto';
import { validateStrategyConfig } from '@qflare/fl';
import { CreateProjectBody, ErrorCode, projectTask, ProtocolError, RevokeDeviceBody, type Project } from '@qflare/protocol';
import express from 'express';
import { organisationOf, principalOf, projectOf, requireOrgRight, requirePrincipal, requireProjectRight } from '../auth/authorize';
import type { ApiDeps } from './deps';
import { pathParam, queryParam } from './params';
import { auditRequest } from './request-audit';

/** Projects: listing, creation in an organisation, reading, running, and revoking a device. */
export function projectRoutes({ store, coordinator, models, maxModelParameters, participants }: ApiDeps): express.Router {
	const router = express.Router();
	const read = requireProjectRight(store, 'project.read');

	router.get('/projects', requirePrincipal, async (req, res) => {
		res.json(await store.projects.list({ organisationIds: [...principalOf(req).roles.keys()] }));
	});

	router.post('/orgs/:org/projects', requireOrgRight('project.create'), async (req, res) => {
		const config = CreateProjectBody.parse(req.body);
		// Some hyperparameters are only valid together with others (Krum needs n > 2f + 2).
		const problems = validateStrategyConfig(config.strategy, { clients: config.minParticipants });
		if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, `strategy: ${problems.join('; ')}`);
		// The model must be buildable for the task and its updates must fit through the participant socket.
		let parameters: number;
		try {
			parameters = models.parameterCount(config.model, projectTask(config));
		} catch (e) {
			throw new ProtocolError(ErrorCode.SchemaInvalid, `model: ${(e as Error).message}`);
		}
		if (parameters > maxModelParameters) {
			throw new ProtocolError(
				ErrorCode.SchemaInvalid,
				`model: ${config.model} has ${parameters.toLocaleString('en-US')} parameters for this task, more than the ${maxModelParameters.toLocaleString('en-US')} an update may carry; choose a smaller model or input size`
			);
		}
		const organisationId = organisationOf(req).id;
		// Short ids keep the participant URL and its QR code small.
		const created = await store.projects.create(config, { id: randomUUID().slice(0, 8), organisationId });
		await store.events.append({ projectId: created.id, type: 'project.created', message: `project "${created.name}" created`, data: {} });
		await auditRequest(store, req, {
			organisationId,
			action: 'project.created',
			target: { type: 'project', id: created.id },
			details: { name: created.name }
		});
		res.status(201).json(created);
	});

	router.get('/projects/:id', read, (req, res) => {
		res.json(projectOf(req).project);
	});

	for (const action of ['start', 'stop'] as const) {
		router.post(`/projects/:id/${action}`, requireProjectRight(store, 'project.run'), async (req, res) => {
			const { project } = projectOf(req);
			const after: Project = action === 'start' ? await coordinator.start(project.id) : await coordinator.stop(project.id);
			await auditRequest(store, req, {
				organisationId: project.organisationId,
				action: action === 'start' ? 'project.started' : 'project.stopped',
				target: { type: 'project', id: project.id },
				details: { modelVersion: after.modelVersion }
			});
			res.json(after);
		});
	}

	router.get('/projects/:id/devices', read, async (req, res) => {
		res.json(await store.devices.listByProject(projectOf(req).project.id));
	});
	router.get('/projects/:id/rounds', read, async (req, res) => {
		res.json(await store.rounds.listByProject(projectOf(req).project.id));
	});
	router.get('/projects/:id/models', read, async (req, res) => {
		res.json(await store.models.list(projectOf(req).project.id));
	});
	router.get('/projects/:id/events', read, async (req, res) => {
		res.json(await store.events.listRecent(projectOf(req).project.id, { limit: 200 }));
	});

	router.get('/projects/:id/evaluations', read, async (req, res) => {
		const { project } = projectOf(req);
		const raw = queryParam(req, 'round', 16);
		if (raw === undefined) return res.json(await store.evaluations.listByProject(project.id));
		const roundNumber = Number(raw);
		if (!Number.isInteger(roundNumber) || roundNumber < 1) {
			throw new ProtocolError(ErrorCode.SchemaInvalid, `round must be a round number (1, 2, ...), not ${JSON.stringify(raw)}`);
		}
		return res.json(await store.evaluations.listByProject(project.id, { roundNumber }));
	});

	router.post('/projects/:id/devices/:deviceId/revoke', requireProjectRight(store, 'device.revoke'), async (req, res) => {
		const { project } = projectOf(req);
		const deviceId = pathParam(req, 'deviceId');
		const { revokeJoinToken = false } = RevokeDeviceBody.parse(req.body ?? {});
		const device = await participants.revokeDevice(project.id, deviceId);
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, `no device ${deviceId} in this project`);
		await auditRequest(store, req, {
			organisationId: project.organisationId,
			action: 'device.revoked',
			target: { type: 'device', id: deviceId },
			details: { projectId: project.id, revokeJoinToken }
		});
		if (revokeJoinToken && device.joinTokenId) {
			const before = await store.joinTokens.get(project.id, device.joinTokenId);
			const token = before && before.revokedAt === null ? await store.joinTokens.revoke(project.id, device.joinTokenId, new Date().toISOString()) : null;
			if (token) {
				await auditRequest(store, req, {
					organisationId: project.organisationId,
					action: 'joinToken.revoked',
					target: { type: 'joinToken', id: token.id },
					details: { projectId: project.id, label: token.label, reason: 'device revoked', deviceId }
				});
			}
		}
		res.json(device);
	});

	return router;
}
