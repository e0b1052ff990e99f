import {
	DASHBOARD_NAMESPACE,
	PARTICIPANT_NAMESPACE,
	RIGHTS,
	SESSION_COOKIE,
	type CreatedInvitation,
	type CreatedJoinToken,
	type ErrorReply,
	type Right,
	type Role
} from '@qflare/protocol';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBareToken } from '../auth/tokens';
import { startTestServer, type TestServer } from '../test-support/test-server';
import { AccessFixtures, headersOf, NOBODY, type Caller } from './access-fixtures';
import { ACCESS_TABLE, type Purpose, type Row } from './access-table';
import { areaRouters, type ApiDeps } from './api-router';
import { openApiDocument } from './openapi';

const ROLES: Role[] = ['viewer', 'researcher', 'admin', 'owner'];
const SCOPE_FOR: Partial<Record<Role, 'read' | 'run' | 'admin'>> = { viewer: 'read', researcher: 'run', admin: 'admin' };

const isRight = (access: string): access is Right => access in RIGHTS;
const below = (role: Role): Role | null => ROLES[ROLES.indexOf(role) - 1] ?? null;
const key = (row: Pick<Row, 'method' | 'path'>) => `${row.method} ${row.path}`;

function documented(): string[] {
	return Object.entries(openApiDocument.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
}

/** Every route the API's routers register, in the OpenAPI path form. */
function registered(): string[] {
	// Building the routers only closes over the dependencies; nothing is called until a request.
	const routers = areaRouters({} as ApiDeps);
	return routers.flatMap((router) =>
		router.stack.flatMap((layer) => {
			if (!layer.route) return [];
			const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
			const methods = (layer.route as unknown as { methods: Record<string, boolean> }).methods;
			return Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`);
		})
	);
}

describe('access control over every route of the OpenAPI document', () => {
	let t: TestServer;
	let f: AccessFixtures;

	beforeAll(async () => {
		t = await startTestServer('access');
		f = await new AccessFixtures(t).setUp();
	}, 120_000);
	afterAll(() => t?.close());

	async function send(row: Row, caller: Caller, purpose: Purpose) {
		const call = await row.request(f, caller, purpose);
		return t.anonymousApi<ErrorReply>(row.method, call.path, call.body, { ...headersOf(caller), ...call.headers });
	}

	function okCallers(row: Row): Caller[] {
		if (row.access === 'public' || row.access === 'joinToken' || row.access === 'deviceAccess') return [NOBODY];
		if (row.access === 'signedIn') return [f.byRole.get('viewer')!, f.keys.get('read')!];
		if (row.access === 'session') return [f.byRole.get('viewer')!];
		const role = RIGHTS[row.access];
		const scope = SCOPE_FOR[role];
		return [f.byRole.get(role)!, ...(scope && !row.sessionOnly ? [f.keys.get(scope)!] : [])];
	}

	it('covers every documented operation, and documents every registered route', () => {
		const table = ACCESS_TABLE.map(key).sort();
		expect(new Set(table).size).toBe(table.length);
		expect(table).toEqual(documented().sort());
		expect(registered().sort()).toEqual(documented().sort());
		for (const row of ACCESS_TABLE) {
			const op = (openApiDocument.paths as Record<string, Record<string, { 'x-qflare-access': string }>>)[row.path][row.method.toLowerCase()];
			expect(op['x-qflare-access'], key(row)).toBe(row.access);
		}
	});

	for (const row of ACCESS_TABLE) {
		const name = `${key(row)} [${row.access}${row.sessionOnly ? ', session only' : ''}]`;
		describe(name, () => {
			if (row.access !== 'public') {
				it('no credentials -> 401', async () => {
					const reply = await send(row, NOBODY, 'none');
					expect(reply.status).toBe(401);
					expect(reply.json.code).toBe(row.access === 'joinToken' ? 'JOIN_TOKEN_INVALID' : 'UNAUTHENTICATED');
				});
			}
			if (row.access === 'joinToken') {
				it("another project's join token -> 401; an API key instead -> 401", async () => {
					expect((await send(row, NOBODY, 'deny')).status).toBe(401);
					const withKey = await t.anonymousApi('GET', `/join/${f.project.id}`, undefined, headersOf(f.keys.get('admin')!));
					expect(withKey.status).toBe(401);
				});
			}
			if (row.access === 'deviceAccess') {
				it("another device's access token -> 401", async () => {
					expect((await send(row, NOBODY, 'deny')).status).toBe(401);
				});
			}
			if (isRight(row.access)) {
				it('a user of another organisation (session and API key) -> 404', async () => {
					for (const outsider of [f.outsider, f.outsiderKey]) {
						const reply = await send(row, outsider, 'deny');
						expect(reply.status, (outsider as { label: string }).label).toBe(404);
						expect(reply.json.code).toBe(row.path.startsWith('/projects/') ? 'UNKNOWN_PROJECT' : 'NOT_FOUND');
					}
				});
				const least = RIGHTS[row.access];
				const lesser = below(least);
				if (lesser) {
					it(`too small a role (${lesser} session${SCOPE_FOR[lesser] ? `, ${SCOPE_FOR[lesser]} key` : ''}) -> 403`, async () => {
						const callers = [f.byRole.get(lesser)!, ...(SCOPE_FOR[lesser] ? [f.keys.get(SCOPE_FOR[lesser])!] : [])];
						for (const caller of callers) {
							const reply = await send(row, caller, 'deny');
							expect(reply.status, (caller as { label: string }).label).toBe(403);
							expect(reply.json.code).toBe('FORBIDDEN');
						}
					});
				}
			}
			if (row.access === 'session' || row.sessionOnly) {
				it('an API key (even of scope admin) -> 403', async () => {
					const reply = await send(row, f.keys.get('admin')!, 'deny');
					expect(reply.status).toBe(403);
					expect(reply.json.code).toBe('FORBIDDEN');
				});
			}
			const least = isRight(row.access) ? RIGHTS[row.access] : row.access === 'public' ? 'anyone' : row.access;
			it(`the right caller (${least}) -> ${row.okStatus ?? 200}`, async () => {
				const callers = row.okCallers ? await row.okCallers(f) : okCallers(row);
				for (const caller of callers) {
					const reply = await send(row, caller, 'ok');
					expect(reply.status, `${caller.kind === 'none' ? 'anonymous' : caller.label}: ${JSON.stringify(reply.json)}`).toBe(row.okStatus ?? 200);
				}
			});
		});
	}

	describe('rules beyond one right per route', () => {
		it("a viewer cannot revoke another member's key (403) but can revoke its own (200)", async () => {
			const viewer = f.byRole.get('viewer')!;
			const { id: ownerKey } = await f.apiKey(f.owner, t.organisationId, 'read');
			expect((await f.call(viewer, 'DELETE', `/orgs/${t.organisationId}/api-keys/${ownerKey}`)).status).toBe(403);
			const { id: own } = await f.apiKey(viewer, t.organisationId, 'read');
			expect((await f.call(viewer, 'DELETE', `/orgs/${t.organisationId}/api-keys/${own}`)).status).toBe(200);
		});

		it('a key never exceeds its scope or its creator: researcher cannot mint an admin key (403), viewer sees only its keys', async () => {
			const researcher = f.byRole.get('researcher')!;
			expect((await f.call(researcher, 'POST', `/orgs/${t.organisationId}/api-keys`, { name: 'too big', scope: 'admin' })).status).toBe(403);
			const run = await f.call(researcher, 'POST', `/orgs/${t.organisationId}/api-keys`, { name: 'fits', scope: 'run' });
			expect(run.status).toBe(201);
			const viewerKeys = await f.call<Array<{ userId: string }>>(f.byRole.get('viewer')!, 'GET', `/orgs/${t.organisationId}/api-keys`);
			const me = await f.call<{ user: { id: string } }>(f.byRole.get('viewer')!, 'GET', '/auth/me');
			expect(viewerKeys.json.every((k) => k.userId === me.json.user.id)).toBe(true);
		});

		it('only an owner makes owners (admin: 403), and the last owner cannot be demoted or removed (409)', async () => {
			const admin = f.byRole.get('admin')!;
			const target = await f.newUser('viewer');
			expect((await f.call(admin, 'PATCH', `/orgs/${t.organisationId}/members/${target.id}`, { role: 'owner' })).status).toBe(403);
			expect((await f.call(admin, 'POST', `/orgs/${t.organisationId}/invitations`, { role: 'owner' })).status).toBe(403);
			const ownerId = (await f.call<{ user: { id: string } }>(f.owner, 'GET', '/auth/me')).json.user.id;
			expect((await f.call(admin, 'PATCH', `/orgs/${t.organisationId}/members/${ownerId}`, { role: 'viewer' })).status).toBe(403);
			expect((await f.call(f.owner, 'PATCH', `/orgs/${t.organisationId}/members/${ownerId}`, { role: 'admin' })).status).toBe(409);
			expect((await f.call(f.owner, 'DELETE', `/orgs/${t.organisationId}/members/${ownerId}`)).status).toBe(409);
		});

		it('revoked keys, expired sessions and keys of removed members are no credentials (401)', async () => {
			const user = await f.newUser('researcher');
			const { caller, id } = await f.apiKey(user.caller, t.organisationId, 'run');
			expect((await f.call(caller, 'GET', '/projects')).status).toBe(200);
			await f.call(f.owner, 'DELETE', `/orgs/${t.organisationId}/members/${user.id}`);
			expect((await f.call(caller, 'GET', '/projects')).status).toBe(401);
			const other = await f.newUser('viewer');
			const second = await f.apiKey(other.caller, t.organisationId, 'read');
			await f.call(f.owner, 'DELETE', `/orgs/${t.organisationId}/api-keys/${second.id}`);
			expect((await f.call(second.caller, 'GET', '/projects')).status).toBe(401);
			expect((await f.call(f.owner, 'GET', `/orgs/${t.organisationId}/api-keys`)).json).toEqual(
				expect.arrayContaining([expect.objectContaining({ id: second.id, revokedAt: expect.any(String) })])
			);
			expect(id).toMatch(/^[0-9a-f]{12}$/);
			// A session past its expiry is refused and deleted.
			const { token, tokenHash } = newBareToken();
			await t.store.sessions.create({ userId: other.id, tokenHash, expiresAt: new Date(Date.now() - 1000).toISOString(), address: 'test', userAgent: 'test' });
			expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: `${SESSION_COOKIE}=${token}` })).status).toBe(401);
			expect(await t.store.sessions.getByHash(tokenHash)).toBeNull();
		});

		it("ids of organisation A's objects under the outsider's OWN organisation and project paths -> 404, and nothing changes", async () => {
			const orgA = t.organisationId;
			const { id: keyId } = await f.apiKey(f.owner, orgA, 'read');
			const invitation = (await f.call<CreatedInvitation>(f.owner, 'POST', `/orgs/${orgA}/invitations`, { role: 'viewer' })).json.invitation;
			const member = await f.newUser('viewer');
			const joinToken = (await f.call<CreatedJoinToken>(f.owner, 'POST', `/projects/${f.project.id}/join-tokens`, {})).json.record;
			const orgB = `/orgs/${f.organisationB}`;
			const projectB = `/projects/${f.projectB.id}`;
			const attempts: Array<[string, string, unknown?]> = [
				['DELETE', `${orgB}/api-keys/${keyId}`],
				['DELETE', `${orgB}/invitations/${invitation.id}`],
				['PATCH', `${orgB}/members/${member.id}`, { role: 'admin' }],
				['DELETE', `${orgB}/members/${member.id}`],
				['DELETE', `${projectB}/join-tokens/${joinToken.id}`],
				['POST', `${projectB}/devices/${f.deviceId}/revoke`]
			];
			for (const outsider of [f.outsider, f.outsiderKey]) {
				for (const [method, path, body] of attempts) {
					const reply = await f.call<ErrorReply>(outsider, method, path, body);
					expect(reply.status, `${(outsider as { label: string }).label}: ${method} ${path}`).toBe(404);
				}
			}
			expect((await t.store.apiKeys.get(keyId))?.revokedAt).toBeNull();
			expect(await t.store.invitations.get(invitation.id)).toMatchObject({ revokedAt: null, acceptedBy: null });
			expect(await t.store.memberships.get(orgA, member.id)).toMatchObject({ role: 'viewer' });
			expect((await t.store.joinTokens.get(f.project.id, joinToken.id))?.revokedAt).toBeNull();
			expect((await t.store.devices.get(f.project.id, f.deviceId))?.revokedAt ?? null).toBeNull();
		});

		it("lists only the caller's organisations' projects", async () => {
			const inA = await f.call<Array<{ id: string }>>(f.byRole.get('viewer')!, 'GET', '/projects');
			expect(inA.json.map((p) => p.id)).toContain(f.project.id);
			expect(inA.json.map((p) => p.id)).not.toContain(f.projectB.id);
			const inB = await f.call<Array<{ id: string }>>(f.outsider, 'GET', '/projects');
			expect(inB.json.map((p) => p.id)).toEqual([f.projectB.id]);
		});

		it('/metrics: 401 without credentials, 403 for a researcher, 200 for an admin session or owner key; /health is public', async () => {
			const metrics = (caller: Caller) => fetch(`${t.url}/metrics`, { headers: headersOf(caller) });
			expect((await metrics(NOBODY)).status).toBe(401);
			expect((await metrics(f.byRole.get('researcher')!)).status).toBe(403);
			expect((await metrics(f.keys.get('run')!)).status).toBe(403);
			expect((await metrics(f.byRole.get('admin')!)).status).toBe(200);
			expect((await metrics(f.keys.get('admin')!)).status).toBe(200);
			expect((await fetch(`${t.url}/health`)).status).toBe(200);
		});

		it('the root Socket.IO namespace refuses every connection; /participant still connects; /dashboard needs credentials', async () => {
			const connect = (nsp: string, headers: Record<string, string> = {}) =>
				new Promise<string>((resolve) => {
					const socket = io(`${t.url}${nsp}`, { transports: ['websocket'], reconnection: false, extraHeaders: headers });
					socket.on('connect', () => {
						socket.close();
						resolve('connected');
					});
					socket.on('connect_error', (e) => {
						socket.close();
						resolve(e.message);
					});
				});
			expect(await connect('/')).toBe('UNAUTHENTICATED');
			expect(await connect('/', headersOf(f.owner))).toBe('UNAUTHENTICATED');
			expect(await connect(PARTICIPANT_NAMESPACE)).toBe('connected');
			expect(await connect(DASHBOARD_NAMESPACE)).toBe('UNAUTHENTICATED');
			expect(await connect(DASHBOARD_NAMESPACE, headersOf(f.owner))).toBe('connected');
		});
	});
});
