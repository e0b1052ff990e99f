import { PredictRequest, ProjectConfig } from '@qflare/protocol';
import { z } from 'zod';

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
const failures = { '400': ok('invalid input', error), '404': ok('unknown project', error) };
const versionParam = { name: 'version', in: 'path', required: true, schema: { type: 'string' }, description: '"latest" or a version number' };

/** OpenAPI 3.1 description of /api/v1; request schemas come from the protocol package's zod schemas. */
export const openApiDocument = {
	openapi: '3.1.0',
	info: { title: 'Qflare API', version: '1' },
	servers: [{ url: '/api/v1' }],
	components: {
		schemas: {
			ProjectConfig: z.toJSONSchema(ProjectConfig),
			PredictRequest: z.toJSONSchema(PredictRequest),
			PredictResponse: {
				type: 'object',
				required: ['projectId', 'modelVersion', 'predictions'],
				properties: {
					projectId: { type: 'string' },
					modelVersion: { type: 'integer' },
					predictions: {
						type: 'array',
						items: {
							oneOf: [
								{
									type: 'object',
									required: ['label', 'probabilities'],
									properties: { label: { type: 'string' }, probabilities: { type: 'object', additionalProperties: { type: 'number' } } }
								},
								{ type: 'object', required: ['values'], properties: { values: { type: 'array', items: { type: 'number' } } } }
							]
						}
					}
				}
			},
			Error: {
				type: 'object',
				required: ['ok', 'code', 'message'],
				properties: { ok: { const: false }, code: { type: 'string' }, message: { type: 'string' } }
			}
		}
	},
	paths: {
		'/projects': {
			get: { summary: 'List projects', responses: { '200': ok('projects', { type: 'array' }) } },
			post: {
				summary: 'Create a project; omitted fields take the defaults',
				requestBody: json({ $ref: '#/components/schemas/ProjectConfig' }),
				responses: { '201': ok('the project'), '400': ok('invalid config', error) }
			}
		},
		'/projects/{id}': { get: { summary: 'One project', parameters: [idParam], responses: { '200': ok('project'), ...failures } } },
		'/projects/{id}/start': {
			post: {
				summary: 'Start rounds (local data: merges the devices\' feature statistics into the project\'s scaling first)',
				parameters: [idParam],
				responses: { '200': ok('project'), ...failures, '409': ok('already ran its rounds, or too few devices reported feature statistics', error) }
			}
		},
		'/projects/{id}/stop': { post: { summary: 'Stop rounds', parameters: [idParam], responses: { '200': ok('project'), ...failures } } },
		'/projects/{id}/devices': { get: { summary: 'Devices', parameters: [idParam], responses: { '200': ok('devices', { type: 'array' }), ...failures } } },
		'/projects/{id}/rounds': { get: { summary: 'Rounds', parameters: [idParam], responses: { '200': ok('rounds', { type: 'array' }), ...failures } } },
		'/projects/{id}/models': { get: { summary: 'Model versions', parameters: [idParam], responses: { '200': ok('models', { type: 'array' }), ...failures } } },
		'/projects/{id}/evaluations': {
			get: {
				summary: 'Federated evaluation reports, one per device and round (counts and error sums, never data)',
				parameters: [idParam, { name: 'round', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }],
				responses: { '200': ok('evaluation reports', { type: 'array' }), ...failures }
			}
		},
		'/projects/{id}/events': { get: { summary: 'Audit log', parameters: [idParam], responses: { '200': ok('events', { type: 'array' }), ...failures } } },
		'/projects/{id}/shard': {
			get: {
				summary: "A registered device's demo data shard (binary QFS1)",
				parameters: [idParam, { name: 'device', in: 'query', required: true, schema: { type: 'string' } }],
				responses: { '200': { description: 'shard bytes' }, ...failures, '409': ok('the project trains on local data', error) }
			}
		},
		'/projects/{id}/models/{version}/predict': {
			post: {
				summary: "Predict with a model version; inputs are checked against the project's task and standardised as in training",
				parameters: [idParam, versionParam],
				requestBody: json({ $ref: '#/components/schemas/PredictRequest' }),
				responses: {
					'200': ok('predictions: class probabilities by class name, or values in the target\'s units', { $ref: '#/components/schemas/PredictResponse' }),
					'400': ok('inputs that do not fit the task, or malformed JSON', error),
					'404': ok('unknown project or model version', error),
					'409': ok('the project has no feature scaling yet', error),
					'413': ok('body over 8 MB', error)
				}
			}
		},
		'/projects/{id}/models/{version}/model.json': {
			get: {
				summary: 'Global model in the tfjs layers format ("latest" or a version number)',
				parameters: [idParam, { name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
				responses: { '200': ok('model.json'), ...failures }
			}
		},
		'/projects/{id}/models/{version}/weights.bin': {
			get: {
				summary: 'Float32 weights named by model.json',
				parameters: [idParam, { name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
				responses: { '200': { description: 'weights' }, ...failures }
			}
		}
	}
} as const;
