/**
 * Test helper: one row per documented operation, with how to call it successfully. Destructive
 * operations make a fresh target for every call so that each case stands alone.
 */
import type { CreatedApiKey, CreatedInvitation, CreatedJoinToken } from '@qflare/protocol';
import { encode as encodePng } from 'fast-png';
import type { AccessFixtures, Caller } from './access-fixtures';
import { PASSWORD } from './access-fixtures';
import type { Access } from './openapi';

export interface Call {
	path: string;
	body?: unknown;
	/** Extra headers (join tokens). */
	headers?: Record<string, string>;
}

export type Purpose = 'ok' | 'deny' | 'none';

export interface Row {
	method: string;
	/** As in the OpenAPI document. */
	path: string;
	access: Access;
	sessionOnly?: boolean;
	/** Status of a successful call (default 200). */
	okStatus?: number;
	/** The request `caller` makes; `purpose` says whether it should succeed, be refused, or carry no credentials at all. */
	request(f: AccessFixtures, caller: Caller, purpose: Purpose): Promise<Call>;
	/** Callers that must succeed, when the default (the least role, then a key of enough scope) would be spent by the call. */
	okCallers?(f: AccessFixtures): Promise<Caller[]>;
}

const org = (f: AccessFixtures) => f.t.organisationId;
const pid = (f: AccessFixtures) => f.project.id;
const fixed = (path: (f: AccessFixtures) => string, body?: unknown) => async (f: AccessFixtures) => ({ path: path(f), body });

const png = Buffer.from(encodePng({ width: 28, height: 28, data: new Uint8Array(28 * 28).fill(128), channels: 1, depth: 8 })).toString('base64');

async function invitation(f: AccessFixtures): Promise<CreatedInvitation> {
	return (await f.call<CreatedInvitation>(f.owner, 'POST', `/orgs/${org(f)}/invitations`, { role: 'viewer' })).json;
}

/** A throwaway signed-in user, for calls that end the caller's sessions or change its password. */
async function throwaway(f: AccessFixtures): Promise<Caller[]> {
	const user = await f.newUser('viewer');
	return [user.caller, (await f.apiKey(user.caller, org(f), 'read')).caller];
}

export const ACCESS_TABLE: Row[] = [
	{ method: 'GET', path: '/openapi.json', access: 'public', request: fixed(() => '/openapi.json') },
	{ method: 'GET', path: '/auth/setup', access: 'public', request: fixed(() => '/auth/setup') },
	{
		method: 'POST',
		path: '/auth/setup',
		access: 'public',
		// Setup is done in every test server: the route answers, and refuses a second owner.
		okStatus: 409,
		request: fixed(() => '/auth/setup', { token: 'x'.repeat(43), email: 'late@example.test', password: PASSWORD, name: 'Late', organisation: 'Late org' })
	},
	{ method: 'POST', path: '/auth/login', access: 'public', request: async (f) => ({ path: '/auth/login', body: { email: (await f.newUser('viewer')).email, password: PASSWORD } }) },
	{ method: 'GET', path: '/invitations/{token}', access: 'public', request: async (f) => ({ path: `/invitations/${(await invitation(f)).token}` }) },
	{
		method: 'POST',
		path: '/invitations/accept',
		access: 'public',
		request: async (f) => ({ path: '/invitations/accept', body: { token: (await invitation(f)).token, email: `new-${Date.now()}-${Math.random()}@example.test`, password: PASSWORD, name: 'New' } })
	},
	{
		method: 'GET',
		path: '/join/{id}',
		access: 'joinToken',
		request: async (f, _caller, purpose) =>
			purpose === 'none' ? { path: `/join/${pid(f)}` } : { path: `/join/${pid(f)}`, headers: { authorization: `Bearer ${purpose === 'ok' ? f.joinToken : f.joinTokenB}` } }
	},
	{
		method: 'GET',
		path: '/projects/{id}/shard',
		access: 'deviceAccess',
		request: async (f, _caller, purpose) => {
			const base = `/projects/${pid(f)}/shard?device=${f.deviceId}`;
			return { path: purpose === 'none' ? base : `${base}&access=${purpose === 'ok' ? f.deviceAccess : f.otherDeviceAccess}` };
		}
	},
	{ method: 'GET', path: '/server-info', access: 'signedIn', request: fixed(() => '/server-info') },
	{ method: 'GET', path: '/auth/me', access: 'signedIn', request: fixed(() => '/auth/me') },
	{ method: 'GET', path: '/orgs', access: 'signedIn', request: fixed(() => '/orgs') },
	{ method: 'GET', path: '/projects', access: 'signedIn', request: fixed(() => '/projects') },
	{ method: 'POST', path: '/auth/logout', access: 'signedIn', request: fixed(() => '/auth/logout'), okCallers: throwaway },
	{ method: 'POST', path: '/auth/logout-all', access: 'session', request: fixed(() => '/auth/logout-all'), okCallers: async (f) => [(await f.newUser('viewer')).caller] },
	{
		method: 'POST',
		path: '/auth/password',
		access: 'session',
		request: fixed(() => '/auth/password', { currentPassword: PASSWORD, newPassword: 'another-long-password' }),
		okCallers: async (f) => [(await f.newUser('viewer')).caller]
	},
	{ method: 'POST', path: '/orgs', access: 'session', okStatus: 201, request: fixed(() => '/orgs', { name: 'Another org' }) },
	{ method: 'GET', path: '/orgs/{org}/members', access: 'members.read', request: fixed((f) => `/orgs/${org(f)}/members`) },
	{
		method: 'PATCH',
		path: '/orgs/{org}/members/{userId}',
		access: 'members.manage',
		request: async (f) => ({ path: `/orgs/${org(f)}/members/${(await f.newUser('viewer')).id}`, body: { role: 'researcher' } })
	},
	{ method: 'DELETE', path: '/orgs/{org}/members/{userId}', access: 'members.manage', request: async (f) => ({ path: `/orgs/${org(f)}/members/${(await f.newUser('viewer')).id}` }) },
	{ method: 'GET', path: '/orgs/{org}/invitations', access: 'members.manage', request: fixed((f) => `/orgs/${org(f)}/invitations`) },
	{
		method: 'POST',
		path: '/orgs/{org}/invitations',
		access: 'members.manage',
		sessionOnly: true,
		okStatus: 201,
		request: fixed((f) => `/orgs/${org(f)}/invitations`, { role: 'viewer' })
	},
	{
		method: 'DELETE',
		path: '/orgs/{org}/invitations/{invitationId}',
		access: 'members.manage',
		request: async (f) => ({ path: `/orgs/${org(f)}/invitations/${(await invitation(f)).invitation.id}` })
	},
	{ method: 'GET', path: '/orgs/{org}/api-keys', access: 'apiKey.createOwn', request: fixed((f) => `/orgs/${org(f)}/api-keys`) },
	{
		method: 'POST',
		path: '/orgs/{org}/api-keys',
		access: 'apiKey.createOwn',
		sessionOnly: true,
		okStatus: 201,
		request: fixed((f) => `/orgs/${org(f)}/api-keys`, { name: 'made in a test', scope: 'read' })
	},
	{
		method: 'DELETE',
		path: '/orgs/{org}/api-keys/{keyId}',
		access: 'apiKey.createOwn',
		request: async (f, caller, purpose) => {
			// Succeeds on the caller's own key (a key's own user is the owner); refused ones target the owner's.
			const maker = purpose === 'ok' && caller.kind === 'session' ? caller : f.owner;
			const made = await f.call<CreatedApiKey>(maker, 'POST', `/orgs/${org(f)}/api-keys`, { name: 'to revoke', scope: 'read' });
			return { path: `/orgs/${org(f)}/api-keys/${made.json.record.id}` };
		}
	},
	{ method: 'GET', path: '/orgs/{org}/audit', access: 'audit.read', request: fixed((f) => `/orgs/${org(f)}/audit`) },
	{ method: 'POST', path: '/orgs/{org}/projects', access: 'project.create', okStatus: 201, request: fixed((f) => `/orgs/${org(f)}/projects`, { name: 'made in a test', rounds: 1, minParticipants: 1 }) },
	{ method: 'GET', path: '/projects/{id}', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}`) },
	{ method: 'POST', path: '/projects/{id}/start', access: 'project.run', request: fixed((f) => `/projects/${pid(f)}/start`) },
	{ method: 'POST', path: '/projects/{id}/stop', access: 'project.run', request: fixed((f) => `/projects/${pid(f)}/stop`) },
	{ method: 'GET', path: '/projects/{id}/devices', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}/devices`) },
	{
		method: 'POST',
		path: '/projects/{id}/devices/{deviceId}/revoke',
		access: 'device.revoke',
		request: async (f) => {
			const deviceId = `revocable-${Math.random().toString(36).slice(2, 10)}`;
			await f.registerDevice(pid(f), deviceId);
			return { path: `/projects/${pid(f)}/devices/${deviceId}/revoke` };
		}
	},
	{ method: 'GET', path: '/projects/{id}/rounds', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}/rounds`) },
	{ method: 'GET', path: '/projects/{id}/models', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}/models`) },
	{ method: 'GET', path: '/projects/{id}/evaluations', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}/evaluations?round=1`) },
	{ method: 'GET', path: '/projects/{id}/events', access: 'project.read', request: fixed((f) => `/projects/${pid(f)}/events`) },
	{ method: 'GET', path: '/projects/{id}/join-tokens', access: 'joinToken.manage', request: fixed((f) => `/projects/${pid(f)}/join-tokens`) },
	{ method: 'POST', path: '/projects/{id}/join-tokens', access: 'joinToken.manage', okStatus: 201, request: fixed((f) => `/projects/${pid(f)}/join-tokens`, { label: 'test', maxDevices: 3 }) },
	{
		method: 'DELETE',
		path: '/projects/{id}/join-tokens/{tokenId}',
		access: 'joinToken.manage',
		request: async (f) => {
			const made = await f.call<CreatedJoinToken>(f.owner, 'POST', `/projects/${pid(f)}/join-tokens`, {});
			return { path: `/projects/${pid(f)}/join-tokens/${made.json.record.id}` };
		}
	},
	{ method: 'POST', path: '/projects/{id}/models/{version}/predict', access: 'model.predict', request: fixed((f) => `/projects/${pid(f)}/models/0/predict`, { images: [png] }) },
	{ method: 'GET', path: '/projects/{id}/models/{version}/model.json', access: 'model.download', request: fixed((f) => `/projects/${pid(f)}/models/latest/model.json`) },
	{ method: 'GET', path: '/projects/{id}/models/{version}/weights.bin', access: 'model.download', request: fixed((f) => `/projects/${pid(f)}/models/0/weights.bin`) }
];
