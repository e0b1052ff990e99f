import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CreatedApiKey, CreatedInvitation, CreatedJoinToken, Project } from '@qflare/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { startQflareServer } from '../server';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { openTempStore } from '../test-support/temp-store';

function filesUnder(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const full = path.join(dir, name);
		return statSync(full).isDirectory() ? filesUnder(full) : [full];
	});
}

async function call<T>(url: string, method: string, body: unknown, headers: Record<string, string> = {}) {
	const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
	return { status: res.status, json: (await res.json()) as T, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
}

describe('secrets are never stored or logged in clear', () => {
	const cleanups: Array<() => Promise<void>> = [];
	afterAll(async () => {
		for (const c of cleanups.reverse()) await c();
	});

	it('after setup, login, key, invitation, join token, device login and password change: no secret in any store file or log line', async () => {
		const temp = await openTempStore('secrets');
		cleanups.push(temp.close);
		const logs: string[] = [];
		// Fields too: the request log's paths and ids must not carry a secret either.
		const server = await startQflareServer({ store: temp.store, port: 0, appHandler: null, log: (m, fields) => logs.push(fields ? `${m} ${JSON.stringify(fields)}` : m) });
		let open = true;
		cleanups.push(async () => {
			if (open) await server.close();
		});
		const api = `${server.url}/api/v1`;
		const secrets = new Map<string, string>();

		const setupToken = server.setupToken!;
		secrets.set('setup token', setupToken);
		const ownerPassword = 'owner-secret-password-1';
		secrets.set('owner password', ownerPassword);
		const setup = await call<{ organisations: Array<{ id: string }> }>(`${api}/auth/setup`, 'POST', { token: setupToken, email: 'owner@secrets.test', password: ownerPassword, name: 'Owner', organisation: 'Org' });
		expect(setup.status).toBe(201);
		secrets.set('setup session', setup.cookie.split('=')[1]);
		const org = setup.json.organisations[0].id;

		const login = await call(`${api}/auth/login`, 'POST', { email: 'owner@secrets.test', password: ownerPassword });
		expect(login.status).toBe(200);
		secrets.set('login session', login.cookie.split('=')[1]);
		const owner = { cookie: login.cookie };

		const key = await call<CreatedApiKey>(`${api}/orgs/${org}/api-keys`, 'POST', { name: 'ci', scope: 'admin' }, owner);
		expect(key.status).toBe(201);
		secrets.set('API key', key.json.key);
		secrets.set('API key secret', key.json.key.slice(17));
		const bearer = { authorization: `Bearer ${key.json.key}` };

		const invitation = await call<CreatedInvitation>(`${api}/orgs/${org}/invitations`, 'POST', { role: 'researcher' }, owner);
		secrets.set('invitation token', invitation.json.token);
		// The invitation page looks its token up in the path.
		expect((await fetch(`${api}/invitations/${invitation.json.token}`)).status).toBe(200);
		const memberPassword = 'member-secret-password-2';
		secrets.set('member password', memberPassword);
		const accepted = await call(`${api}/invitations/accept`, 'POST', { token: invitation.json.token, email: 'member@secrets.test', password: memberPassword, name: 'Member' });
		expect(accepted.status).toBe(200);
		secrets.set('member session', accepted.cookie.split('=')[1]);

		const changedPassword = 'changed-secret-password-3';
		secrets.set('changed password', changedPassword);
		expect((await call(`${api}/auth/password`, 'POST', { currentPassword: memberPassword, newPassword: changedPassword }, { cookie: accepted.cookie })).status).toBe(200);

		const project = await call<Project>(`${api}/orgs/${org}/projects`, 'POST', { name: 'secret project', rounds: 1, minParticipants: 1 }, bearer);
		const join = await call<CreatedJoinToken>(`${api}/projects/${project.json.id}/join-tokens`, 'POST', { label: 'class' }, bearer);
		secrets.set('join token', join.json.token);

		const device = new ScriptedParticipant(server.url, { joinToken: join.json.token });
		const reply = await device.login(project.json.id);
		const shardPath = reply.shardPath!;
		const access = new URL(shardPath, server.url).searchParams.get('access')!;
		secrets.set('device shard access token', access);
		expect((await fetch(`${server.url}${shardPath}`)).status).toBe(200);
		device.socket.close();

		// Everything the embedded store wrote is on disk once it is closed.
		await server.close();
		open = false;
		await temp.store.close();
		const files = filesUnder(temp.dataDir);
		expect(files.length).toBeGreaterThan(0);
		const stored = files.map((f) => ({ file: path.relative(temp.dataDir, f), text: readFileSync(f).toString('latin1') }));
		const logText = logs.join('\n');
		for (const [what, secret] of secrets) {
			expect(secret.length, what).toBeGreaterThanOrEqual(16);
			for (const { file, text } of stored) expect(text.includes(secret), `${what} in ${file}`).toBe(false);
			expect(logText.includes(secret), `${what} in the logs`).toBe(false);
		}
		// What is stored instead: scrypt strings and SHA-256 digests.
		const users = stored.find((s) => s.file.startsWith('users'))!.text;
		expect(users).toMatch(/scrypt\$32768\$8\$1\$/);
	}, 60_000);
});
