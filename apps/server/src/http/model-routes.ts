import { targetScale, toPredictions } from '@qflare/data-import';
import { ErrorCode, PredictRequest, projectTask, ProtocolError, type PredictResponse, type Project } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import express from 'express';
import { projectOf, requireProjectRight } from '../auth/authorize';
import { layersModelJson, WEIGHTS_FILE } from '../models/layers-artifacts';
import { predictionInputs } from '../predict/predict-inputs';
import type { ApiDeps } from './deps';

async function modelVersion(store: Store, p: Project, raw: string): Promise<number> {
	const version = raw === 'latest' ? p.modelVersion : /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
	if (!Number.isInteger(version)) throw new ProtocolError(ErrorCode.SchemaInvalid, 'model version must be "latest" or a version number');
	if (!(await store.models.get(p.id, version))) throw new ProtocolError(ErrorCode.NotFound, `no model v${version}`);
	return version;
}

/** Global models: the tfjs layers artifacts and predictions. */
export function modelRoutes({ store, models }: ApiDeps): express.Router {
	const router = express.Router();
	const download = requireProjectRight(store, 'model.download');

	router.get('/projects/:id/models/:version/model.json', download, async (req, res) => {
		const { project } = projectOf(req);
		await modelVersion(store, project, String(req.params.version));
		res.json(await layersModelJson(project.model, projectTask(project)));
	});

	router.get(`/projects/:id/models/:version/${WEIGHTS_FILE}`, download, async (req, res) => {
		const { project } = projectOf(req);
		const version = await modelVersion(store, project, String(req.params.version));
		const weights = await store.models.loadWeights(project.id, version);
		if (!weights) throw new ProtocolError(ErrorCode.NotFound, `model v${version} has no weights`);
		res.type('application/octet-stream');
		res.setHeader('Content-Disposition', `attachment; filename="${project.id}-v${version}-${WEIGHTS_FILE}"`);
		res.send(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
	});

	router.post('/projects/:id/models/:version/predict', requireProjectRight(store, 'model.predict'), async (req, res) => {
		const { project } = projectOf(req);
		const version = await modelVersion(store, project, String(req.params.version));
		const request = PredictRequest.parse(req.body);
		const task = projectTask(project);
		const { inputs, count } = await predictionInputs(request, task, project.standardization);
		const weights = await store.models.loadWeights(project.id, version);
		if (!weights) throw new ProtocolError(ErrorCode.NotFound, `model v${version} has no weights`);
		const outputs = await models.predict(project.model, task, weights, inputs, count);
		const body: PredictResponse = { projectId: project.id, modelVersion: version, predictions: toPredictions(outputs, count, task, targetScale(task, project.standardization)) };
		res.json(body);
	});

	return router;
}
