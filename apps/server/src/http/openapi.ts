import { ProjectConfig } from '@qflare/protocol';
import { z } from 'zod';

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
const failures = { '400': ok('invalid input', error), '404': ok('unknown project', error) };

/** OpenAPI 3.1 description of /api/v1; request schemas come from the protocol package's zod schemas. */
export const openApiDocument = {
	openapi: '3.1.0',
	info: { title: 'Qflare API', version: '1' },
	servers: [{ url: '/api/v1' }],
	components: {
		schemas: {
			ProjectConfig: z.toJSONSchema(ProjectConfig),
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
		'/projects/{id}/start': { post: { summary: 'Start rounds', parameters: [idParam], responses: { '200': ok('project'), ...failures } } },
		'/projects/{id}/stop': { post: { summary: 'Stop rounds', parameters: [idParam], responses: { '200': ok('project'), ...failures } } },
		'/projects/{id}/devices': { get: { summary: 'Devices', parameters: [idParam], responses: { '200': ok('devices', { type: 'array' }), ...failures } } },
		'/projects/{id}/rounds': { get: { summary: 'Rounds', parameters: [idParam], responses: { '200': ok('rounds', { type: 'array' }), ...failures } } },
		'/projects/{id}/models': { get: { summary: 'Model versions', parameters: [idParam], responses: { '200': ok('models', { type: 'array' }), ...failures } } },
		'/projects/{id}/events': { get: { summary: 'Audit log', parameters: [idParam], responses: { '200': ok('events', { type: 'array' }), ...failures } } },
		'/projects/{id}/shard': {
			get: {
				summary: "A registered device's demo data shard (binary QFS1)",
				parameters: [idParam, { name: 'device', in: 'query', required: true, schema: { type: 'string' } }],
				responses: { '200': { description: 'shard bytes' }, ...failures }
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
