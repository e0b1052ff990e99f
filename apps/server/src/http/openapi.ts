import {
	AcceptInvitationBody,
	ChangeRoleBody,
	CreateApiKeyBody,
	CreateInvitationBody,
	CreateJoinTokenBody,
	CreateOrganisationBody,
	LoginBody,
	PasswordChangeBody,
	PredictRequest,
	ProjectConfig,
	RevokeDeviceBody,
	SetupBody
} from '@qflare/protocol';
import { z } from 'zod';
import { accountPaths } from './openapi-account-paths';
import { projectPaths } from './openapi-project-paths';

export type { Access } from './openapi-helpers';

/** JSON Schema of what a body must be (input side: defaults may be omitted). */
const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' });

/**
 * OpenAPI 3.1 description of /api/v1; request schemas come from the protocol package's zod schemas.
 * Every operation names who may call it in `x-qflare-access` (see openapi-helpers.ts).
 */
export const openApiDocument = {
	openapi: '3.1.0',
	info: { title: 'Qflare API', version: '1' },
	servers: [{ url: '/api/v1' }],
	components: {
		securitySchemes: {
			session: { type: 'apiKey', in: 'cookie', name: 'qflare_session' },
			apiKey: { type: 'http', scheme: 'bearer', description: 'qfk_<id>_<secret>' }
		},
		schemas: {
			ProjectConfig: z.toJSONSchema(ProjectConfig),
			PredictRequest: z.toJSONSchema(PredictRequest),
			SetupBody: input(SetupBody),
			LoginBody: input(LoginBody),
			PasswordChangeBody: input(PasswordChangeBody),
			CreateOrganisationBody: input(CreateOrganisationBody),
			CreateInvitationBody: input(CreateInvitationBody),
			AcceptInvitationBody: input(AcceptInvitationBody),
			ChangeRoleBody: input(ChangeRoleBody),
			CreateApiKeyBody: input(CreateApiKeyBody),
			CreateJoinTokenBody: input(CreateJoinTokenBody),
			RevokeDeviceBody: input(RevokeDeviceBody),
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
	security: [{ session: [] }, { apiKey: [] }],
	paths: { ...accountPaths, ...projectPaths }
} as const;
