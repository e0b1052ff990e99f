/**
 * Test helper (not used by the server): two organisations, users of every role, API keys of every
 * scope, a project with a registered device, a join token and a committed initial model.
 */
import type { CreatedApiKey, CreatedInvitation, CreatedJoinToken, Me, Project, Role } from '@qflare/protocol';
import { randomSecret, sha256Hex } from '../auth/tokens';
import type { ApiReply, TestServer } from '../test-support/test-server';
import { TEST_OWNER } from '../test-support/test-server';

/** How a request authenticates. */
export type Caller = { kind: 'none' } | { kind: 'session'; cookie: string; label: string } | { kind: 'key'; key: string; label: string };

export const NOBODY: Caller = { kind: 'none' };

export function headersOf(caller: Caller): Record<string, string> {
	if (caller.kind === 'session') return { cookie: caller.cookie };
	if (caller.kind === 'key') return { authorization: `Bearer ${caller.key}` };
	return {};
}

/** The session cookie (name=value) a reply set, or throws. */
export function cookieOf(reply: ApiReply<unknown>): string {
	const header = reply.headers.get('set-cookie');
	if (!header) throw new Error(`no session cookie in a ${reply.status} reply: ${JSON.stringify(reply.json)}`);
	return header.split(';')[0];
}

export const PASSWORD = 'a-long-test-password';

export class AccessFixtures {
	#users = 0;
	owner!: Caller;
	byRole = new Map<Role, Caller>();
	/** The owner's keys in organisation A, by scope. */
	keys = new Map<'read' | 'run' | 'admin', Caller>();
	/** Owner of organisation B only (was removed from A), and its admin key in B. */
	outsider!: Caller;
	outsiderKey!: Caller;
	organisationB = '';
	project!: Project;
	/** A project of organisation B, for tokens of another project. */
	projectB!: Project;
	deviceId = 'device-a-0001';
	deviceAccess = '';
	otherDeviceAccess = '';
	joinToken = '';
	joinTokenB = '';

	constructor(readonly t: TestServer) {}

	call<T>(caller: Caller, method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
		return this.t.anonymousApi<T>(method, path, body, headersOf(caller));
	}

	/** A new user who accepted an invitation of `organisationId` with `role` (the invitation made by `inviter`). */
	async newUser(role: Role, organisationId = this.t.organisationId, inviter: Caller = this.owner): Promise<{ caller: Caller & { kind: 'session' }; id: string; email: string }> {
		const invitation = await this.call<CreatedInvitation>(inviter, 'POST', `/orgs/${organisationId}/invitations`, { role });
		if (invitation.status !== 201) throw new Error(`invitation: ${invitation.status} ${JSON.stringify(invitation.json)}`);
		const email = `user${++this.#users}-${role}@example.test`;
		const accepted = await this.t.anonymousApi<Me>('POST', '/invitations/accept', { token: invitation.json.token, email, password: PASSWORD, name: `${role} ${this.#users}` });
		if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${JSON.stringify(accepted.json)}`);
		return { caller: { kind: 'session', cookie: cookieOf(accepted), label: `${role} session` }, id: accepted.json.user.id, email };
	}

	async apiKey(owner: Caller, organisationId: string, scope: 'read' | 'run' | 'admin'): Promise<{ caller: Caller & { kind: 'key' }; id: string }> {
		const made = await this.call<CreatedApiKey>(owner, 'POST', `/orgs/${organisationId}/api-keys`, { name: `${scope} key`, scope, expiresInDays: 1 });
		if (made.status !== 201) throw new Error(`api key: ${made.status} ${JSON.stringify(made.json)}`);
		return { caller: { kind: 'key', key: made.json.key, label: `${scope} key` }, id: made.json.record.id };
	}

	/** A device registered in the project, with a shard access token; returns that token. */
	async registerDevice(projectId: string, deviceId: string): Promise<string> {
		await this.t.store.devices.upsert({ id: deviceId, projectId, publicKey: 'AAAA', kind: 'node' });
		const access = randomSecret();
		await this.t.store.devices.setAccessTokenHash(projectId, deviceId, sha256Hex(access));
		return access;
	}

	async setUp(): Promise<this> {
		const login = await this.t.anonymousApi<Me>('POST', '/auth/login', { email: TEST_OWNER.email, password: TEST_OWNER.password });
		this.owner = { kind: 'session', cookie: cookieOf(login), label: 'owner session' };
		this.byRole.set('owner', this.owner);
		for (const role of ['admin', 'researcher', 'viewer'] as const) this.byRole.set(role, (await this.newUser(role)).caller);
		for (const scope of ['read', 'run', 'admin'] as const) this.keys.set(scope, (await this.apiKey(this.owner, this.t.organisationId, scope)).caller);

		// The outsider was in A, founded B, and was removed from A: its session now sees B only.
		const outsider = await this.newUser('viewer');
		const org = await this.call<{ id: string }>(outsider.caller, 'POST', '/orgs', { name: 'Organisation B' });
		this.organisationB = org.json.id;
		await this.call(this.owner, 'DELETE', `/orgs/${this.t.organisationId}/members/${outsider.id}`);
		this.outsider = { ...outsider.caller, label: 'owner of B (session)' };
		this.outsiderKey = { ...(await this.apiKey(outsider.caller, this.organisationB, 'admin')).caller, label: 'admin key of B' };
		const inB = await this.call<Project>(this.outsider, 'POST', `/orgs/${this.organisationB}/projects`, { name: 'b project', rounds: 2, minParticipants: 1 });
		this.projectB = inB.json;

		this.project = await this.t.createProject({ name: 'access', rounds: 3, minParticipants: 1, roundTimeoutSec: 60 });
		// Start saves the initial model (v0), which the model routes need; stop leaves the project idle.
		await this.t.api('POST', `/projects/${this.project.id}/start`);
		await this.t.api('POST', `/projects/${this.project.id}/stop`);
		this.deviceAccess = await this.registerDevice(this.project.id, this.deviceId);
		this.otherDeviceAccess = await this.registerDevice(this.project.id, 'device-a-0002');
		this.joinToken = await this.t.joinToken(this.project.id);
		const tokenB = await this.call<CreatedJoinToken>(this.outsider, 'POST', `/projects/${this.projectB.id}/join-tokens`, {});
		this.joinTokenB = tokenB.json.token;
		return this;
	}
}
