import { randomUUID } from 'node:crypto';
import { CreateProjectBody, ErrorCode, ProtocolError, ShardQuery, type ErrorCode as Code, type Project } from '@qflare/protocol';
import { validateStrategyConfig } from '@qflare/fl';
import type { Store } from '@qflare/store';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ShardService } from '../data/shard-service';
import { layersModelJson, WEIGHTS_FILE } from '../models/layers-artifacts';
import type { RoundCoordinator } from '../rounds/round-coordinator';
import { toErrorReply } from '../sockets/safe-handler';
import { openApiDocument } from './openapi';

const STATUS: Partial<Record<Code, number>> = {
	SCHEMA_INVALID: 400,
	UNKNOWN_PROJECT: 404,
	UNKNOWN_DEVICE: 404,
	NOT_FOUND: 404,
	CONFLICT: 409,
	UNAUTHENTICATED: 401,
	INTERNAL: 500
};

interface ApiDeps {
	/** Origins phones can reach this server at (PUBLIC_URL, else its LAN addresses). */
	publicOrigins: string[];
	store: Store;
	coordinator: RoundCoordinator;
	shards: ShardService;
	log: (message: string) => void;
}

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** REST API under /api/v1; bodies are parsed with the protocol schemas, errors carry a code. */
export function apiRouter({ publicOrigins, store, coordinator, shards, log }: ApiDeps): express.Router {
	const router = express.Router();
	router.use(express.json({ limit: '64kb' }));

	const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
		handler(req, res).catch(next);
	};
	const project = async (id: string): Promise<Project> => {
		const p = await store.projects.get(id);
		if (!p) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${id}`);
		return p;
	};
	const param = (req: Request, name: string): string => String(req.params[name]);

	router.get('/openapi.json', (_req, res) => {
		res.json(openApiDocument);
	});

	router.get('/server-info', (_req, res) => {
		res.json({ publicOrigins, store: store.backend });
	});

	router.get(
		'/projects',
		route(async (_req, res) => res.json(await store.projects.list()))
	);

	router.post(
		'/projects',
		route(async (req, res) => {
			const config = CreateProjectBody.parse(req.body);
			// Some hyperparameters are only valid together with others (Krum needs n > 2f + 2).
			const problems = validateStrategyConfig(config.strategy, { clients: config.minParticipants });
			if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, `strategy: ${problems.join('; ')}`);
			// Short ids keep the participant URL and its QR code small.
			const created = await store.projects.create(config, { id: randomUUID().slice(0, 8) });
			await store.events.append({ projectId: created.id, type: 'project.created', message: `project "${created.name}" created`, data: {} });
			res.status(201).json(created);
		})
	);

	router.get(
		'/projects/:id',
		route(async (req, res) => res.json(await project(param(req, 'id'))))
	);

	for (const action of ['start', 'stop'] as const) {
		router.post(
			`/projects/:id/${action}`,
			route(async (req, res) => {
				const id = param(req, 'id');
				await project(id);
				res.json(action === 'start' ? await coordinator.start(id) : await coordinator.stop(id));
			})
		);
	}

	router.get(
		'/projects/:id/devices',
		route(async (req, res) => res.json(await store.devices.listByProject((await project(param(req, 'id'))).id)))
	);
	router.get(
		'/projects/:id/rounds',
		route(async (req, res) => res.json(await store.rounds.listByProject((await project(param(req, 'id'))).id)))
	);
	router.get(
		'/projects/:id/models',
		route(async (req, res) => res.json(await store.models.list((await project(param(req, 'id'))).id)))
	);
	router.get(
		'/projects/:id/events',
		route(async (req, res) => res.json(await store.events.listRecent((await project(param(req, 'id'))).id, { limit: 200 })))
	);

	router.get(
		'/projects/:id/shard',
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			const { device: deviceId } = ShardQuery.parse(req.query);
			const device = await store.devices.get(p.id, deviceId);
			if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'log in before fetching a shard');
			const { bytes, labelHistogram } = await shards.shard(p, device.shardIndex);
			if (JSON.stringify(device.labelHistogram) !== JSON.stringify(labelHistogram)) {
				await store.devices.update(p.id, device.id, { labelHistogram });
			}
			res.type('application/octet-stream').setHeader('Cache-Control', 'private, max-age=31536000, immutable');
			res.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
		})
	);

	const modelVersion = async (p: Project, raw: string): Promise<number> => {
		const version = raw === 'latest' ? p.modelVersion : Number(raw);
		if (!Number.isInteger(version) || version < 0) throw new ProtocolError(ErrorCode.SchemaInvalid, `bad model version ${raw}`);
		if (!(await store.models.get(p.id, version))) throw new ProtocolError(ErrorCode.NotFound, `no model v${version}`);
		return version;
	};

	router.get(
		'/projects/:id/models/:version/model.json',
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			await modelVersion(p, param(req, 'version'));
			res.json(await layersModelJson(p.model));
		})
	);

	router.get(
		`/projects/:id/models/:version/${WEIGHTS_FILE}`,
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			const version = await modelVersion(p, param(req, 'version'));
			const weights = await store.models.loadWeights(p.id, version);
			if (!weights) throw new ProtocolError(ErrorCode.NotFound, `model v${version} has no weights`);
			res.type('application/octet-stream');
			res.setHeader('Content-Disposition', `attachment; filename="${p.id}-v${version}-${WEIGHTS_FILE}"`);
			res.send(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
		})
	);

	router.use((_req: Request, _res: Response, next: NextFunction) => next(new ProtocolError(ErrorCode.NotFound, 'no such API route')));
	router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
		const isJsonSyntax = err instanceof SyntaxError && 'body' in err;
		const reply = isJsonSyntax
			? { ok: false as const, code: ErrorCode.SchemaInvalid, message: 'request body is not valid JSON' }
			: toErrorReply(err, log);
		res.status(STATUS[reply.code] ?? 400).json(reply);
	});

	return router;
}
