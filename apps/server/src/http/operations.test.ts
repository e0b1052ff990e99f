import type { Store } from '@qflare/store';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields } from '../logging';
import { startQflareServer, type QflareServer } from '../server';
import { startTestServer, type TestServer } from '../test-support/test-server';
import { openTempStore } from '../test-support/temp-store';
import { SingleInstance } from '../cluster/cluster';
import { healthRoute, type HealthReport } from './health-route';
import { loggablePath } from './request-log';

const SCRAPE_TOKEN = 'scrape-token-for-prometheus-0123456789';

describe('operations: /metrics scrape token, request log, /health', () => {
	let t: TestServer;
	beforeAll(async () => {
		t = await startTestServer('operations', { metricsToken: SCRAPE_TOKEN });
	});
	afterAll(async () => {
		await t?.close();
	});

	it('/metrics takes the scrape token as a Bearer credential, and still an admin key; nothing else', async () => {
		const metrics = (headers: Record<string, string>) => fetch(`${t.url}/metrics`, { headers });
		const scraped = await metrics({ authorization: `Bearer ${SCRAPE_TOKEN}` });
		expect(scraped.status).toBe(200);
		expect(scraped.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
		const text = await scraped.text();
		expect(text).toContain(`qflare_devices_online{instance="${t.server.instanceId}"} 0`);
		expect(text).toContain('# TYPE qflare_update_verify_seconds histogram');
		expect((await metrics({ authorization: `Bearer ${t.ownerKey}` })).status).toBe(200);
		expect((await metrics({ authorization: `Bearer ${SCRAPE_TOKEN}x` })).status).toBe(401);
		expect((await metrics({ authorization: `Bearer ${SCRAPE_TOKEN.slice(0, -1)}` })).status).toBe(401);
		expect((await metrics({ authorization: SCRAPE_TOKEN })).status).toBe(401);
		expect((await metrics({})).status).toBe(401);
	});

	it('reuses a plain X-Request-Id, replaces a hostile one, makes one when absent, and logs it', async () => {
		const setupState = `${t.url}/api/v1/auth/setup`;
		const given = await fetch(setupState, { headers: { 'x-request-id': 'lb-7f3a.42' } });
		expect(given.headers.get('x-request-id')).toBe('lb-7f3a.42');
		const hostile = await fetch(setupState, { headers: { 'x-request-id': 'a"b\\c{'.repeat(3) } });
		expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
		const fresh = await fetch(setupState);
		const id = fresh.headers.get('x-request-id')!;
		expect(id).toMatch(/^[0-9a-f-]{36}$/);
		await expect.poll(() => t.logs.find((l) => l.includes(id))).toBeDefined();
		const line = t.logs.find((l) => l.includes(id))!;
		const fields = JSON.parse(line.slice(line.indexOf('{'))) as LogFields;
		expect(fields).toMatchObject({ requestId: id, method: 'GET', path: '/api/v1/auth/setup', status: 200, aborted: false });
		expect(typeof fields.ms).toBe('number');
		expect(t.logs.some((l) => l.includes('"requestId":"lb-7f3a.42"'))).toBe(true);
		// A healthy /health poll (every few seconds from a balancer) is not logged; it still gets an id.
		const health = await fetch(`${t.url}/health`);
		const healthId = health.headers.get('x-request-id')!;
		expect(healthId).toMatch(/^[0-9a-f-]{36}$/);
		await fetch(setupState);
		expect(t.logs.some((l) => l.includes(healthId))).toBe(false);
	});

	it('a request with a session cookie, a Bearer key and ?t=qjt_... logs none of them', async () => {
		const joinToken = 'qjt_' + 'J'.repeat(43);
		const sessionValue = t.ownerCookie.split('=')[1];
		const before = t.logs.length;
		const res = await fetch(`${t.url}/join/some-project?t=${joinToken}&x=1`, { headers: { cookie: t.ownerCookie, authorization: `Bearer ${t.ownerKey}` } });
		await res.arrayBuffer();
		const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: { cookie: t.ownerCookie } });
		expect(me.status).toBe(200);
		const setup = await fetch(`${t.url}/setup?token=${'S'.repeat(43)}`);
		await setup.arrayBuffer();
		const invitation = await fetch(`${t.url}/api/v1/invitations/qin_${'I'.repeat(43)}`);
		await invitation.arrayBuffer();
		// A sign-in answers with Set-Cookie: its value must not reach the log either.
		const login = await fetch(`${t.url}/api/v1/auth/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: 'owner@example.test', password: 'owner-password-1' })
		});
		expect(login.status).toBe(200);
		const newSession = (login.headers.get('set-cookie') ?? '').split(';')[0].split('=')[1];
		expect(newSession.length).toBeGreaterThan(16);
		await expect.poll(() => t.logs.slice(before).filter((l) => l.startsWith('http request')).length).toBeGreaterThanOrEqual(5);
		const logged = t.logs.slice(before).join('\n');
		for (const secret of [joinToken, sessionValue, t.ownerKey, t.ownerKey.slice(17), 'S'.repeat(43), 'I'.repeat(43), newSession]) expect(logged).not.toContain(secret);
		expect(logged).not.toMatch(/authorization|cookie/i);
		expect(logged).toContain('"path":"/join/some-project"');
		expect(logged).toContain('"path":"/api/v1/invitations/[redacted]"');
	});

	it('/health is public and reports the store, Redis, the instance and its role', async () => {
		const res = await fetch(`${t.url}/health`);
		expect(res.status).toBe(200);
		const body = (await res.json()) as HealthReport;
		expect(body).toMatchObject({
			ok: true,
			store: { backend: 'embedded', reachable: true },
			redis: { configured: false, reachable: null, latencyMs: null },
			instance: t.server.instanceId,
			role: 'single',
			leads: []
		});
		expect(body.store.latencyMs).toBeGreaterThanOrEqual(0);
		expect(body.instance).toMatch(/:\d+$/);
		expect(body.instance).not.toMatch(/:0$/);
		expect(typeof body.uptimeSec).toBe('number');
	});
});

describe('/health when the store does not answer', () => {
	let server: QflareServer | null = null;
	let closeTemp: (() => Promise<void>) | null = null;
	afterAll(async () => {
		await server?.close();
		await closeTemp?.();
	});

	it('answers 503 with ok:false once the store is closed', async () => {
		const temp = await openTempStore('health-closed');
		closeTemp = temp.close;
		// The embedded store still answers from memory after close(); a closed MongoDB client throws instead. This does the same.
		let closed = false;
		const projects = new Proxy(temp.store.projects, {
			get: (target, key, receiver) =>
				key === 'list' && closed ? () => Promise.reject(new Error('MongoClient was closed')) : Reflect.get(target, key, receiver)
		});
		const store: Store = Object.assign(Object.create(temp.store) as Store, { projects });
		server = await startQflareServer({ store, port: 0, appHandler: null, log: () => {}, instanceId: 'health-test-1' });
		expect((await fetch(`${server.url}/health`)).status).toBe(200);
		closed = true;
		const res = await fetch(`${server.url}/health`);
		expect(res.status).toBe(503);
		expect(await res.json()).toMatchObject({ ok: false, store: { backend: 'embedded', reachable: false, latencyMs: null }, instance: 'health-test-1', role: 'single' });
	});

	it('answers 503 when the store hangs past the timeout, and shares one probe among concurrent calls', async () => {
		let reads = 0;
		const hung = { backend: 'mongodb', projects: { list: () => (reads++, new Promise<never>(() => {})) } } as unknown as Store;
		const app = express();
		// A cluster instance whose Redis answers: the store alone makes it unhealthy.
		const cluster = Object.assign(new SingleInstance('i'), {
			mode: 'cluster' as const,
			probe: async () => ({ reachable: true, latencyMs: 0.4 }),
			leading: () => ['p-1']
		});
		app.get('/health', healthRoute({ store: hung, cluster, instance: () => 'i', timeoutMs: 100 }));
		const http = app.listen(0);
		await new Promise((resolve) => http.once('listening', resolve));
		try {
			const address = http.address();
			const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/health`;
			const started = Date.now();
			const replies = await Promise.all([fetch(url), fetch(url), fetch(url)]);
			expect(Date.now() - started).toBeLessThan(2_000);
			expect(replies.map((r) => r.status)).toEqual([503, 503, 503]);
			expect(await replies[0].json()).toMatchObject({
				ok: false,
				store: { backend: 'mongodb', reachable: false },
				redis: { configured: true, reachable: true, latencyMs: 0.4 },
				role: 'cluster',
				leads: ['p-1']
			});
			expect(reads).toBe(1);
		} finally {
			http.closeAllConnections();
			await new Promise((resolve) => http.close(resolve));
		}
	});
});

describe('loggablePath', () => {
	it('drops every query string and token segments, keeps the rest', () => {
		expect(loggablePath('/join/p1?t=qjt_abc')).toBe('/join/p1');
		expect(loggablePath('/setup?token=xyz')).toBe('/setup');
		expect(loggablePath('/invite?token=qin_x#frag')).toBe('/invite');
		expect(loggablePath('/api/v1/projects/p1/shards/3?access=secret')).toBe('/api/v1/projects/p1/shards/3');
		expect(loggablePath('/api/v1/invitations/qin_abc')).toBe('/api/v1/invitations/[redacted]');
		expect(loggablePath('/api/v1/invitations/notprefixed')).toBe('/api/v1/invitations/[redacted]');
		expect(loggablePath('/api/v1/invitations/accept')).toBe('/api/v1/invitations/accept');
		expect(loggablePath('/x/qfk_0123456789ab_secret/y')).toBe('/x/[redacted]/y');
	});
});
