import { randomUUID } from 'node:crypto';
import { targetScale, toPredictions } from '@qflare/data-import';
import { validateStrategyConfig } from '@qflare/fl';
import {
	CreateProjectBody,
	ErrorCode,
	PredictRequest,
	projectTask,
	ProtocolError,
	ShardQuery,
	type ErrorCode as Code,
	type PredictResponse,
	type Project
} from '@qflare/protocol';
import type { Store } from '@qflare/store';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ShardService } from '../data/shard-service';
import { layersModelJson, WEIGHTS_FILE } from '../models/layers-artifacts';
import { predictionInputs } from '../predict/predict-inputs';
import type { ModelService } from '../rounds/ports';
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
	models: ModelService;
	/** Parameters of the largest model whose updates the participant socket takes (its maxHttpBufferSize). */
	maxModelParameters: number;
	log: (message: string) => void;
}

/** Most API bodies are a project config; a predict body may carry images. */
const JSON_LIMIT = '64kb';
const PREDICT_JSON_LIMIT = '8mb';

/** Body-parser's errors carry an HTTP status and a type. */
function bodyParserError(err: unknown): { status: number; type: string } | null {
	if (!(err instanceof Error)) return null;
	const { status, type } = err as Error & { status?: unknown; type?: unknown };
	return typeof status === 'number' && typeof type === 'string' ? { status, type } : null;
}

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** REST API under /api/v1; bodies are parsed with the protocol schemas, errors carry a code. */
export function apiRouter({ publicOrigins, store, coordinator, shards, models, maxModelParameters, log }: ApiDeps): express.Router {
	const router = express.Router();

	const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
		handler(req, res).catch(next);
	};
	const project = async (id: string): Promise<Project> => {
		const p = await store.projects.get(id);
		if (!p) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${id}`);
		return p;
	};
	const param = (req: Request, name: string): string => String(req.params[name]);
	const modelVersion = async (p: Project, raw: string): Promise<number> => {
		const version = raw === 'latest' ? p.modelVersion : Number(raw);
		if (!Number.isInteger(version) || version < 0) throw new ProtocolError(ErrorCode.SchemaInvalid, `bad model version ${raw}`);
		if (!(await store.models.get(p.id, version))) throw new ProtocolError(ErrorCode.NotFound, `no model v${version}`);
		return version;
	};

	// Registered before the general parser so that its own, larger limit applies.
	router.post(
		'/projects/:id/models/:version/predict',
		express.json({ limit: PREDICT_JSON_LIMIT }),
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			const version = await modelVersion(p, param(req, 'version'));
			const request = PredictRequest.parse(req.body);
			const task = projectTask(p);
			const { inputs, count } = await predictionInputs(request, task, p.standardization);
			const weights = await store.models.loadWeights(p.id, version);
			if (!weights) throw new ProtocolError(ErrorCode.NotFound, `model v${version} has no weights`);
			const outputs = await models.predict(p.model, task, weights, inputs, count);
			const body: PredictResponse = { projectId: p.id, modelVersion: version, predictions: toPredictions(outputs, count, task, targetScale(task, p.standardization)) };
			res.json(body);
		})
	);

	router.use(express.json({ limit: JSON_LIMIT }));

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
			if (p.dataSource !== 'demo') {
				throw new ProtocolError(ErrorCode.Conflict, `project ${p.id} trains on local data: each participant brings its own files, there are no demo shards`);
			}
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

	router.get(
		'/projects/:id/evaluations',
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			const raw = req.query.round;
			if (raw === undefined) return res.json(await store.evaluations.listByProject(p.id));
			const roundNumber = Number(raw);
			if (typeof raw !== 'string' || !Number.isInteger(roundNumber) || roundNumber < 1) {
				throw new ProtocolError(ErrorCode.SchemaInvalid, `round must be a round number (1, 2, ...), not ${JSON.stringify(raw)}`);
			}
			return res.json(await store.evaluations.listByProject(p.id, { roundNumber }));
		})
	);

	router.get(
		'/projects/:id/models/:version/model.json',
		route(async (req, res) => {
			const p = await project(param(req, 'id'));
			await modelVersion(p, param(req, 'version'));
			res.json(await layersModelJson(p.model, projectTask(p)));
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
	router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
		const parser = bodyParserError(err);
		if (parser) {
			// The client sent a body the parser refused: its fault, with the parser's status (413 too large, 400 bad JSON, 415 charset).
			const message =
				parser.type === 'entity.too.large'
					? `request body is larger than the ${req.path.endsWith('/predict') ? PREDICT_JSON_LIMIT : JSON_LIMIT} this route takes`
					: parser.type === 'entity.parse.failed'
						? 'request body is not valid JSON'
						: `request body refused: ${(err as Error).message}`;
			res.status(parser.status).json({ ok: false as const, code: ErrorCode.SchemaInvalid, message });
			return;
		}
		const reply = toErrorReply(err, log);
		res.status(STATUS[reply.code] ?? 400).json(reply);
	});

	return router;
}
