import { body, error, ok, op, pathId } from './openapi-helpers';

const id = pathId('id', 'project id');
const version = pathId('version', '"latest" or a version number');
const array = (description: string) => ok(description, { type: 'array' });

/** Projects, their devices, rounds, models and join tokens. */
export const projectPaths = {
	'/projects': { get: op('signedIn', "Projects of every organisation the caller is in", { responses: { '200': array('projects') } }) },
	'/orgs/{org}/projects': {
		post: op('project.create', 'Create a project in the organisation; omitted fields take the defaults', {
			parameters: [pathId('org')],
			...body('ProjectConfig'),
			responses: { '201': ok('the project') }
		})
	},
	'/projects/{id}': { get: op('project.read', 'One project', { parameters: [id] }) },
	'/projects/{id}/start': {
		post: op('project.run', "Start rounds (local data: merges the devices' feature statistics into the project's scaling first)", {
			parameters: [id],
			responses: { '409': ok('already ran its rounds, or too few devices reported feature statistics', error) }
		})
	},
	'/projects/{id}/stop': { post: op('project.run', 'Stop rounds', { parameters: [id] }) },
	'/projects/{id}/devices': { get: op('project.read', 'Devices, with key age and revocation', { parameters: [id], responses: { '200': array('devices') } }) },
	'/projects/{id}/devices/{deviceId}/revoke': {
		post: op('device.revoke', 'Revoke a device: its sockets are dropped and it can never log in again; revokeJoinToken also revokes the join token it registered with', {
			parameters: [id, pathId('deviceId')],
			requestBody: { required: false, ...body('RevokeDeviceBody').requestBody },
			responses: { '200': ok('the device') }
		})
	},
	'/projects/{id}/rounds': { get: op('project.read', 'Rounds', { parameters: [id], responses: { '200': array('rounds') } }) },
	'/projects/{id}/models': {
		get: op('project.read', 'Model versions, each with its test metrics, federated evaluation and membership-inference audit (membershipAudit)', {
			parameters: [id],
			responses: { '200': array('models') }
		})
	},
	'/projects/{id}/evaluations': {
		get: op('project.read', 'Federated evaluation reports, one per device and round (counts and error sums, never data)', {
			parameters: [id, { name: 'round', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }],
			responses: { '200': array('evaluation reports') }
		})
	},
	'/projects/{id}/events': { get: op('project.read', 'Project events', { parameters: [id], responses: { '200': array('events') } }) },
	'/projects/{id}/join-tokens': {
		get: op('joinToken.manage', 'Join tokens (never the tokens themselves)', { parameters: [id], responses: { '200': array('join tokens') } }),
		post: op('joinToken.manage', 'Create a join token; the token and its join link are shown once', { parameters: [id], ...body('CreateJoinTokenBody'), responses: { '201': ok('CreatedJoinToken') } })
	},
	'/projects/{id}/join-tokens/{tokenId}': { delete: op('joinToken.manage', 'Revoke a join token', { parameters: [id, pathId('tokenId')] }) },
	'/join/{id}': {
		get: op('joinToken', "The participant page's view of a project, with Authorization: Bearer qjt_...", {
			parameters: [id],
			responses: { '401': ok('JOIN_TOKEN_INVALID: missing, revoked, expired or of another project', error), '429': ok('too many bad join tokens', error) }
		})
	},
	'/projects/{id}/shard': {
		get: op('deviceAccess', "A logged-in device's demo data shard (binary QFS1); the link comes with the login reply", {
			parameters: [
				id,
				{ name: 'device', in: 'query', required: true, schema: { type: 'string' } },
				{ name: 'access', in: 'query', required: true, schema: { type: 'string' }, description: "the device's access token from its last login" }
			],
			responses: { '200': { description: 'shard bytes' }, '409': ok('the project trains on local data', error) }
		})
	},
	'/projects/{id}/models/{version}/predict': {
		post: op('model.predict', "Predict with a model version; inputs are checked against the project's task and standardised as in training", {
			parameters: [id, version],
			...body('PredictRequest'),
			responses: {
				'200': ok("predictions: class probabilities by class name, or values in the target's units", { $ref: '#/components/schemas/PredictResponse' }),
				'409': ok('the project has no feature scaling yet', error),
				'413': ok('body over 8 MB', error)
			}
		})
	},
	'/projects/{id}/models/{version}/model.json': { get: op('model.download', 'Global model in the tfjs layers format', { parameters: [id, version] }) },
	'/projects/{id}/models/{version}/weights.bin': {
		get: op('model.download', 'Float32 weights named by model.json', { parameters: [id, version], responses: { '200': { description: 'weights' } } })
	}
} as const;
