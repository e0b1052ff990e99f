import { body, error, ok, op, pathId } from './openapi-helpers';

const org = pathId('org', 'organisation id');
const array = (description: string) => ok(description, { type: 'array' });

/** Accounts, organisations, members, invitations, API keys and the audit log. */
export const accountPaths = {
	'/openapi.json': { get: op('public', 'This document') },
	'/server-info': { get: op('signedIn', 'Origins phones can reach and the store backend') },
	'/auth/setup': {
		get: op('public', 'Whether the first owner is still to be created', { responses: { '200': ok('SetupState') } }),
		post: op('public', 'Create the first owner and organisation with the printed one-time token; sets the session cookie', {
			...body('SetupBody'),
			responses: { '201': ok('Me'), '401': ok('wrong or used token', error), '409': ok('setup is done', error), '429': ok('rate limited', error) }
		})
	},
	'/auth/login': {
		post: op('public', 'Sign in; sets the session cookie', {
			...body('LoginBody'),
			responses: { '200': ok('Me'), '401': ok('wrong e-mail or password', error), '429': ok('rate limited (Retry-After)', error) }
		})
	},
	'/auth/me': { get: op('signedIn', 'The caller and its organisations', { responses: { '200': ok('Me') } }) },
	'/auth/logout': { post: op('signedIn', 'End this session') },
	'/auth/logout-all': { post: op('session', "End every session of the caller's account (its dashboards are dropped too); not with an API key") },
	'/auth/password': { post: op('session', 'Change the password; other sessions end', { ...body('PasswordChangeBody') }) },
	'/invitations/{token}': {
		get: op('public', 'What an invitation link offers', { parameters: [pathId('token')], responses: { '200': ok('InvitationPreview'), '404': ok('unknown, used, revoked or expired', error), '429': ok('rate limited', error) } })
	},
	'/invitations/accept': {
		post: op('public', 'Accept an invitation: a new user gives email, password and name; a signed-in user only the token', {
			...body('AcceptInvitationBody'),
			responses: { '200': ok('Me'), '404': ok('unknown, used, revoked or expired', error), '409': ok('the e-mail has an account: sign in first', error), '429': ok('rate limited', error) }
		})
	},
	'/orgs': {
		get: op('signedIn', "The caller's organisations with its role", { responses: { '200': array('organisations') } }),
		post: op('session', 'Create an organisation; the caller becomes its owner', { ...body('CreateOrganisationBody'), responses: { '201': ok('organisation') } })
	},
	'/orgs/{org}/members': { get: op('members.read', 'Members and their roles', { parameters: [org], responses: { '200': array('members') } }) },
	'/orgs/{org}/members/{userId}': {
		patch: op('members.manage', "Change a member's role (owner.manage to make or unmake an owner)", {
			parameters: [org, pathId('userId')],
			...body('ChangeRoleBody'),
			responses: { '409': ok('the last owner cannot be demoted', error) }
		}),
		delete: op('members.manage', "Remove a member (owner.manage for an owner); the member's API keys in the organisation are revoked", { parameters: [org, pathId('userId')], responses: { '409': ok('the last owner cannot be removed', error) } })
	},
	'/orgs/{org}/invitations': {
		get: op('members.manage', 'Invitations', { parameters: [org], responses: { '200': array('invitations') } }),
		post: op('members.manage', 'Create an invitation link (owner.manage to invite an owner); the token is shown once', {
			parameters: [org],
			sessionOnly: true,
			...body('CreateInvitationBody'),
			responses: { '201': ok('CreatedInvitation') }
		})
	},
	'/orgs/{org}/invitations/{invitationId}': {
		delete: op('members.manage', 'Revoke an invitation', { parameters: [org, pathId('invitationId')], responses: { '409': ok('already accepted or revoked', error) } })
	},
	'/orgs/{org}/api-keys': {
		get: op('apiKey.createOwn', 'API keys: admins see all, others their own', { parameters: [org], responses: { '200': array('API keys') } }),
		post: op('apiKey.createOwn', "Create an API key of a scope within the caller's role; the key is shown once", {
			parameters: [org],
			...body('CreateApiKeyBody'),
			sessionOnly: true,
			responses: { '201': ok('CreatedApiKey') }
		})
	},
	'/orgs/{org}/api-keys/{keyId}': {
		delete: op('apiKey.createOwn', 'Revoke an API key: your own, or any with apiKey.manageAll', { parameters: [org, pathId('keyId')] })
	},
	'/orgs/{org}/audit': {
		get: op('audit.read', 'Audit log, newest first', {
			parameters: [
				org,
				{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
				{ name: 'action', in: 'query', required: false, schema: { type: 'string' } }
			],
			responses: { '200': array('audit entries') }
		})
	}
} as const;
