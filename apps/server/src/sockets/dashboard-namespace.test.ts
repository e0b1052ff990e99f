import { DASHBOARD_NAMESPACE, type Device, type Project } from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessFixtures, cookieOf, headersOf, PASSWORD, type Caller } from '../http/access-fixtures';
import { connectOutcome } from '../test-support/connect-outcome';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { startTestServer, type TestServer } from '../test-support/test-server';

describe('dashboard sockets end with the credentials they were opened with', () => {
	let t: TestServer;
	let f: AccessFixtures;
	let project: Project;
	const sockets: Socket[] = [];

	beforeAll(async () => {
		t = await startTestServer('dashboard-namespace');
		f = await new AccessFixtures(t).setUp();
		project = f.project;
	}, 120_000);
	afterAll(async () => {
		for (const s of sockets) s.close();
		await t?.close();
	});

	function dashboard(headers: Record<string, string>): Socket {
		const socket = io(`${t.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
		sockets.push(socket);
		return socket;
	}

	/** A dashboard of `caller`, connected and watching the project. */
	async function watching(caller: Caller): Promise<Socket> {
		const socket = dashboard(headersOf(caller));
		expect(await connectOutcome(socket)).toBe('connected');
		expect(await socket.timeout(5_000).emitWithAck('watch', { projectId: project.id })).toEqual({ ok: true });
		return socket;
	}

	/** Resolves with the disconnect reason, or 'still connected' after `ms`. */
	function dropped(socket: Socket, ms = 2_000): Promise<string> {
		if (!socket.connected) return Promise.resolve('already disconnected');
		return new Promise((resolve) => {
			const timer = setTimeout(() => resolve('still connected'), ms);
			socket.once('disconnect', (reason) => {
				clearTimeout(timer);
				resolve(reason);
			});
		});
	}

	async function login(email: string): Promise<Caller> {
		return { kind: 'session', cookie: cookieOf(await t.anonymousApi('POST', '/auth/login', { email, password: PASSWORD })), label: email };
	}

	it('logout drops the dashboards of that session only', async () => {
		const user = await f.newUser('viewer');
		const other = await login(user.email);
		const [mine, theirs] = [await watching(user.caller), await watching(other)];
		const [gone, kept] = [dropped(mine), dropped(theirs, 500)];
		expect((await f.call(user.caller, 'POST', '/auth/logout')).status).toBe(200);
		expect(await gone).toBe('io server disconnect');
		expect(await kept).toBe('still connected');
	});

	it('logout-all drops every dashboard of the user', async () => {
		const user = await f.newUser('viewer');
		const other = await login(user.email);
		const both = [await watching(user.caller), await watching(other)].map((s) => dropped(s));
		expect((await f.call(user.caller, 'POST', '/auth/logout-all')).status).toBe(200);
		expect(await Promise.all(both)).toEqual(['io server disconnect', 'io server disconnect']);
	});

	it("a password change drops the user's other dashboards, not the one of the session that changed it", async () => {
		const user = await f.newUser('viewer');
		const other = await login(user.email);
		const [kept, gone] = [dropped(await watching(user.caller), 500), dropped(await watching(other))];
		const changed = await f.call(user.caller, 'POST', '/auth/password', { currentPassword: PASSWORD, newPassword: 'another-long-password' });
		expect(changed.status).toBe(200);
		expect(await gone).toBe('io server disconnect');
		expect(await kept).toBe('still connected');
	});

	it("removing a member drops its dashboards, by session and by API key; they cannot come back", async () => {
		const user = await f.newUser('researcher');
		const key = await f.apiKey(user.caller, t.organisationId, 'run');
		const both = [await watching(user.caller), await watching(key.caller)].map((s) => dropped(s));
		expect((await f.call(f.owner, 'DELETE', `/orgs/${t.organisationId}/members/${user.id}`)).status).toBe(200);
		expect(await Promise.all(both)).toEqual(['io server disconnect', 'io server disconnect']);
		// The session still exists (the user has no organisation left), and watches nothing of this one.
		const again = dashboard(headersOf(user.caller));
		expect(await connectOutcome(again)).toBe('connected');
		expect(await again.timeout(5_000).emitWithAck('watch', { projectId: project.id })).toMatchObject({ ok: false, code: 'UNKNOWN_PROJECT' });
		expect(await connectOutcome(dashboard(headersOf(key.caller)))).toBe('UNAUTHENTICATED');
	});

	it("changing a member's role drops its dashboards (they reconnect with the new role)", async () => {
		const user = await f.newUser('researcher');
		const gone = dropped(await watching(user.caller));
		expect((await f.call(f.owner, 'PATCH', `/orgs/${t.organisationId}/members/${user.id}`, { role: 'viewer' })).status).toBe(200);
		expect(await gone).toBe('io server disconnect');
	});

	it('revoking an API key drops the dashboards connected with it', async () => {
		const user = await f.newUser('viewer');
		const key = await f.apiKey(user.caller, t.organisationId, 'read');
		const [gone, kept] = [dropped(await watching(key.caller)), dropped(await watching(user.caller), 500)];
		expect((await f.call(user.caller, 'DELETE', `/orgs/${t.organisationId}/api-keys/${key.id}`)).status).toBe(200);
		expect(await gone).toBe('io server disconnect');
		expect(await kept).toBe('still connected');
	});

	it('refuses a cookie handshake from a foreign Origin; its own origin and no Origin pass; API keys need none', async () => {
		const owner = headersOf(f.owner);
		expect(await connectOutcome(dashboard({ ...owner, origin: 'http://evil.example' }))).toBe('FORBIDDEN');
		expect(await connectOutcome(dashboard({ ...owner, origin: t.url.replace('localhost', '127.0.0.1') }))).toBe('FORBIDDEN');
		// The client connects to localhost:<port>, so that is the Host header and the own origin.
		expect(await connectOutcome(dashboard({ ...owner, origin: t.url }))).toBe('connected');
		expect(await connectOutcome(dashboard(owner))).toBe('connected');
		expect(await connectOutcome(dashboard({ authorization: `Bearer ${t.ownerKey}`, origin: 'http://evil.example' }))).toBe('connected');
	});
	it('sends the device list once for a burst of logins, not once per login', async () => {
		const socket = await watching(f.owner);
		const lists: Device[][] = [];
		socket.on('devices', (devices: Device[]) => lists.push(devices));
		const token = await t.joinToken(project.id);
		const devices = Array.from({ length: 12 }, () => new ScriptedParticipant(t.url, { joinToken: token }));
		try {
			await Promise.all(devices.map((d) => d.login(project.id)));
			await expect.poll(() => lists.at(-1)?.filter((d) => devices.some((p) => p.deviceId === d.id)).length, { timeout: 5_000 }).toBe(12);
			// 24 changes (a login and a status report each); one list per DEVICE_LIST_DELAY_MS at most.
			expect(lists.length).toBeGreaterThanOrEqual(1);
			expect(lists.length).toBeLessThanOrEqual(4);
		} finally {
			for (const d of devices) d.socket.close();
		}
	});
});
