import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AuditEntry, CreatedInvitation, CreatedJoinToken, Me, Project } from '@qflare/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { heldBy, pidFilePath } from '../auth/pid-file';
import type { RateLimitConfig } from '../auth/rate-limits';
import { resetPassword } from '../cli/reset-admin';
import { startQflareServer, type QflareServer } from '../server';
import { openTempStore } from '../test-support/temp-store';
import { startTestServer, TEST_OWNER, type TestServer } from '../test-support/test-server';
import { cookieOf, PASSWORD } from './access-fixtures';

const json = { 'content-type': 'application/json' };

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
	const res = await fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
	return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe('first-run setup', () => {
	let server: QflareServer;
	let close: () => Promise<void>;

	beforeAll(async () => {
		const temp = await openTempStore('setup');
		server = await startQflareServer({ store: temp.store, port: 0, appHandler: (_req, res) => res.send('<!doctype html><p>page</p>'), log: () => {} });
		close = async () => {
			await server.close();
			await temp.close();
		};
	});
	afterAll(() => close?.());

	it('works only with the one-time token, once; sets an httpOnly Lax cookie (not Secure on http)', async () => {
		const api = `${server.url}/api/v1`;
		expect(await (await fetch(`${api}/auth/setup`)).json()).toEqual({ needed: true });
		// Nothing but setup works before the first owner exists.
		expect((await fetch(`${api}/projects`)).status).toBe(401);
		const token = server.setupToken!;
		expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
		const body = { token, email: 'First@Example.test', password: 'first-owner-pw', name: 'First', organisation: 'First org' };
		expect((await post(`${api}/auth/setup`, { ...body, token: 'x'.repeat(43) })).status).toBe(401);
		const done = await post(`${api}/auth/setup`, body);
		expect(done.status).toBe(201);
		expect(done.json).toMatchObject({ user: { email: 'first@example.test' }, via: 'session', organisations: [{ name: 'First org', role: 'owner' }] });
		const cookie = done.headers.get('set-cookie')!;
		expect(cookie).toMatch(/^qflare_session=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/);
		expect(server.setupToken).toBeNull();
		expect((await post(`${api}/auth/setup`, body)).status).toBe(409);
		expect(await (await fetch(`${api}/auth/setup`)).json()).toEqual({ needed: false });
		const me = await fetch(`${api}/auth/me`, { headers: { cookie: cookie.split(';')[0] } });
		expect(me.status).toBe(200);
	});

	it("sets helmet's headers everywhere, the API's strict CSP on API answers only, and keeps COOP/COEP/CORP", async () => {
		const api = await fetch(`${server.url}/api/v1/auth/setup`);
		const page = await fetch(`${server.url}/admin`);
		for (const res of [api, page]) {
			expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
			expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
			expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
			expect(res.headers.get('x-content-type-options')).toBe('nosniff');
			expect(res.headers.get('referrer-policy')).toBe('no-referrer');
			expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
			expect(res.headers.get('x-powered-by')).toBeNull();
		}
		expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
		// Pages get their CSP from SvelteKit (kit.csp), which knows its inline scripts' hashes.
		expect(page.headers.get('content-security-policy')).toBeNull();
	});
});

describe('sessions, passwords, rate limits and the audit log', () => {
	let t: TestServer;
	const limits: Partial<RateLimitConfig> = {
		login: { points: 4, durationSec: 60 },
		loginFailure: { points: 2, durationSec: 60 },
		setup: { points: 2, durationSec: 60 },
		invitation: { points: 3, durationSec: 60 },
		badJoinToken: { points: 2, durationSec: 60 }
	};
	let address = 0;
	/** Each test speaks from its own address (X-Forwarded-For, trusted here), so per-address limits do not mix. */
	const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

	beforeAll(async () => {
		t = await startTestServer('flows', { rateLimits: limits, trustProxy: true });
	});
	afterAll(() => t?.close());

	const api = (p: string) => `${t.url}/api/v1${p}`;
	const login = (email: string, password: string, headers: Record<string, string>) => post(api('/auth/login'), { email, password }, headers);

	it('login: one message for an unknown e-mail and a wrong password; Secure cookie over https behind a proxy', async () => {
		const ip = from();
		const unknown = await login('nobody@example.test', 'whatever-pw', ip);
		const wrong = await login('nobody2@example.test', 'whatever-pw', ip);
		expect([unknown.status, wrong.status]).toEqual([401, 401]);
		expect(unknown.json.message).toBe(wrong.json.message);
		const ok = await login(TEST_OWNER.email, TEST_OWNER.password, { ...ip, 'x-forwarded-proto': 'https' });
		expect(ok.status).toBe(200);
		expect(ok.headers.get('set-cookie')).toContain('; Secure');
	});

	it('login: 429 with Retry-After after 4 attempts per address', async () => {
		const ip = from();
		// Four accounts, so that only the per-address limit is met.
		for (let i = 0; i < 4; i++) expect((await login(`guess${i}@example.test`, 'wrong-password', ip)).status).toBe(401);
		const limited = await login(TEST_OWNER.email, TEST_OWNER.password, ip);
		expect(limited.status).toBe(429);
		expect(limited.json.code).toBe('RATE_LIMITED');
		expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
	});

	it('login: 429 after 2 failures for one account, from any address, even with the right password', async () => {
		const user = await newUser('viewer');
		expect((await login(user.email, 'wrong-password-1', from())).status).toBe(401);
		expect((await login(user.email, 'wrong-password-2', from())).status).toBe(401);
		expect((await login(user.email, PASSWORD, from())).status).toBe(429);
	});

	it('setup: 429 after 2 attempts per address', async () => {
		const ip = from();
		const body = { token: 'x'.repeat(43), email: 'x@example.test', password: PASSWORD, name: 'x', organisation: 'x' };
		expect((await post(api('/auth/setup'), body, ip)).status).toBe(409);
		expect((await post(api('/auth/setup'), body, ip)).status).toBe(409);
		expect((await post(api('/auth/setup'), body, ip)).status).toBe(429);
	});

	it('invitations: 429 after 3 previews or accepts per address', async () => {
		const ip = from();
		for (let i = 0; i < 3; i++) expect((await fetch(api(`/invitations/qin_${'a'.repeat(43)}`), { headers: ip })).status).toBe(404);
		expect((await post(api('/invitations/accept'), { token: `qin_${'a'.repeat(43)}` }, ip)).status).toBe(429);
	});

	it('join: 401 JOIN_TOKEN_INVALID for bad tokens, then 429 for the address even with a good one', async () => {
		const project = await t.createProject({ name: 'join', rounds: 1, minParticipants: 1 });
		const token = await t.joinToken(project.id);
		const ip = from();
		const good = await fetch(api(`/join/${project.id}`), { headers: { ...ip, authorization: `Bearer ${token}` } });
		expect(good.status).toBe(200);
		expect(await good.json()).toMatchObject({ id: project.id, name: 'join' });
		for (let i = 0; i < 2; i++) expect((await fetch(api(`/join/${project.id}`), { headers: { ...ip, authorization: `Bearer qjt_${'b'.repeat(43)}` } })).status).toBe(401);
		expect((await fetch(api(`/join/${project.id}`), { headers: { ...ip, authorization: `Bearer ${token}` } })).status).toBe(429);
	});

	it('join tokens: a revoked or expired one is refused; the record never holds the token', async () => {
		const project = await t.createProject({ name: 'revocable', rounds: 1, minParticipants: 1 });
		const made = await t.api<CreatedJoinToken>('POST', `/projects/${project.id}/join-tokens`, { label: 'class', maxDevices: 30 });
		expect(made.json.path).toBe(`/join/${project.id}?t=${made.json.token}`);
		expect(JSON.stringify(made.json.record)).not.toContain(made.json.token);
		expect((await t.api('DELETE', `/projects/${project.id}/join-tokens/${made.json.record.id}`)).status).toBe(200);
		expect((await fetch(api(`/join/${project.id}`), { headers: { ...from(), authorization: `Bearer ${made.json.token}` } })).status).toBe(401);
	});

	let users = 0;
	async function newUser(role: 'viewer' | 'admin') {
		const inv = await t.anonymousApi<CreatedInvitation>('POST', `/orgs/${t.organisationId}/invitations`, { role }, { cookie: t.ownerCookie });
		const email = `flow${++users}@example.test`;
		const accepted = await post(api('/invitations/accept'), { token: inv.json.token, email, password: PASSWORD, name: 'Flow' }, from());
		expect(accepted.status).toBe(200);
		return { email, cookie: cookieOf({ status: accepted.status, json: accepted.json, headers: accepted.headers }), id: (accepted.json as unknown as Me).user.id };
	}

	it('an invitation works once, and one for a given e-mail only for that address', async () => {
		const inv = await t.anonymousApi<CreatedInvitation>('POST', `/orgs/${t.organisationId}/invitations`, { role: 'viewer', email: 'only@example.test' }, { cookie: t.ownerCookie });
		expect(inv.json.path).toBe(`/invite?token=${inv.json.token}`);
		const preview = await fetch(api(`/invitations/${inv.json.token}`), { headers: from() });
		expect(await preview.json()).toMatchObject({ organisationName: TEST_OWNER.organisation, role: 'viewer', email: 'only@example.test' });
		expect((await post(api('/invitations/accept'), { token: inv.json.token, email: 'other@example.test', password: PASSWORD, name: 'x' }, from())).status).toBe(403);
		expect((await post(api('/invitations/accept'), { token: inv.json.token, email: 'only@example.test', password: PASSWORD, name: 'x' }, from())).status).toBe(200);
		expect((await post(api('/invitations/accept'), { token: inv.json.token, email: 'again@example.test', password: PASSWORD, name: 'x' }, from())).status).toBe(404);
	});

	it('password change ends the other sessions, keeps this one, and the old password stops working', async () => {
		const user = await newUser('viewer');
		const second = cookieOf(await t.anonymousApi('POST', '/auth/login', { email: user.email, password: PASSWORD }, from()));
		const wrong = await t.anonymousApi('POST', '/auth/password', { currentPassword: 'not-the-password', newPassword: 'new-password-123' }, { cookie: user.cookie });
		expect(wrong.status).toBe(403);
		const changed = await t.anonymousApi('POST', '/auth/password', { currentPassword: PASSWORD, newPassword: 'new-password-123' }, { cookie: user.cookie });
		expect(changed.status).toBe(200);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: user.cookie })).status).toBe(200);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: second })).status).toBe(401);
		// The new password first: a success clears the account's failures (the wrong current password was one).
		expect((await login(user.email, 'new-password-123', from())).status).toBe(200);
		expect((await login(user.email, PASSWORD, from())).status).toBe(401);
	});

	it('logout ends this session and clears the cookie; logout-all ends every session', async () => {
		const user = await newUser('viewer');
		const second = cookieOf(await t.anonymousApi('POST', '/auth/login', { email: user.email, password: PASSWORD }, from()));
		const out = await t.anonymousApi('POST', '/auth/logout', undefined, { cookie: user.cookie });
		expect(out.headers.get('set-cookie')).toMatch(/^qflare_session=; Max-Age=0;/);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: user.cookie })).status).toBe(401);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: second })).status).toBe(200);
		const third = cookieOf(await t.anonymousApi('POST', '/auth/login', { email: user.email, password: PASSWORD }, from()));
		expect((await t.anonymousApi('POST', '/auth/logout-all', undefined, { cookie: third })).status).toBe(200);
		for (const c of [second, third]) expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: c })).status).toBe(401);
	});

	it('a cookie-authenticated write from a foreign Origin is 403; from its own origin it passes', async () => {
		const user = await newUser('viewer');
		const foreign = await t.anonymousApi('POST', '/orgs', { name: 'csrf' }, { cookie: user.cookie, origin: 'https://evil.example' });
		expect(foreign.status).toBe(403);
		const own = await t.anonymousApi('POST', '/orgs', { name: 'mine' }, { cookie: user.cookie, origin: t.url });
		expect(own.status).toBe(201);
	});

	it('the audit log names who did what from which address, newest first, and filters by action', async () => {
		const project = await t.createProject({ name: 'audited', rounds: 1, minParticipants: 1 });
		await t.api('POST', `/projects/${project.id}/start`);
		await t.api('POST', `/projects/${project.id}/stop`);
		const log = await t.api<AuditEntry[]>('GET', `/orgs/${t.organisationId}/audit?limit=500`);
		const actions = new Set(log.json.map((e) => e.action));
		for (const action of ['user.setup', 'apiKey.created', 'member.invited', 'member.joined', 'project.created', 'project.started', 'project.stopped', 'joinToken.created', 'joinToken.revoked']) {
			expect(actions, action).toContain(action);
		}
		const started = log.json.find((e) => e.action === 'project.started' && e.target.id === project.id)!;
		expect(started.actor).toMatchObject({ type: 'apiKey', label: expect.stringContaining(TEST_OWNER.email) });
		expect(started.address).toMatch(/127\.0\.0\.1|::1/);
		const joined = log.json.find((e) => e.action === 'member.joined')!;
		expect(joined.address).toMatch(/^198\.51\.100\./);
		const only = await t.api<AuditEntry[]>('GET', `/orgs/${t.organisationId}/audit?action=project.created&limit=1`);
		expect(only.json).toHaveLength(1);
		expect(only.json[0].target.id).toBe(project.id);
	});

	it('reset-admin gives a new password once, ends the sessions and audits it', async () => {
		const owner = cookieOf(await t.anonymousApi('POST', '/auth/login', { email: TEST_OWNER.email, password: TEST_OWNER.password }, from()));
		const result = await resetPassword(t.store, TEST_OWNER.email);
		expect(result!.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
		expect(result!.sessionsEnded).toBeGreaterThanOrEqual(1);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, { cookie: owner })).status).toBe(401);
		expect((await login(TEST_OWNER.email, result!.password, from())).status).toBe(200);
		expect(await resetPassword(t.store, 'nobody@example.test')).toBeNull();
		const log = await t.api<AuditEntry[]>('GET', `/orgs/${t.organisationId}/audit?action=owner.passwordReset`);
		expect(log.json[0]).toMatchObject({ actor: { type: 'system', id: 'cli' }, target: { id: result!.userId } });
		expect(t.logs.join('\n')).not.toContain(result!.password);
	});
});

describe('reset-admin command', () => {
	const temps: Array<() => Promise<void>> = [];
	afterEach(async () => {
		for (const close of temps.splice(0)) await close();
	});

	it('refuses while a live process holds the embedded store (server.pid)', async () => {
		const temp = await openTempStore('reset-cli');
		temps.push(temp.close);
		writeFileSync(pidFilePath(temp.dataDir), `${process.pid}\n`);
		expect(heldBy(temp.dataDir)).toBe(process.pid);
		const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
		const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'apps/server/src/cli/reset-admin.ts', '--email', 'a@example.test'], {
			cwd: root,
			env: { ...process.env, DATA_DIR: temp.dataDir, MONGODB_URI: '' }
		});
		await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`pid ${process.pid}`) });
		writeFileSync(pidFilePath(temp.dataDir), '999999999\n');
		expect(heldBy(temp.dataDir)).toBeNull();
	}, 30_000);
});
