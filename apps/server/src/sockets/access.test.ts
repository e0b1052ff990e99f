import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { generateDeviceKeypair, rotateKeyMessage, sha256Hex, signMessage, toBase64, type DeviceKeypair } from '@qflare/pq';
import {
	DASHBOARD_NAMESPACE,
	decodeWeights,
	PROJECT_DEFAULTS,
	type Device,
	type JoinTokenRecord,
	type Project,
	type Round
} from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectOutcome } from '../test-support/connect-outcome';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { startTestServer, type TestServer } from '../test-support/test-server';

/** Every file of a store folder as text, to search for secrets. */
function storeText(dir: string): string {
	let text = '';
	for (const entry of readdirSync(dir)) {
		const file = path.join(dir, entry);
		text += statSync(file).isDirectory() ? storeText(file) : readFileSync(file).toString('latin1');
	}
	return text;
}

/** A well-formed join token that no project issued. */
const forgedToken = () => `qjt_${Buffer.from(generateDeviceKeypair().publicKey.subarray(0, 32)).toString('base64url')}`;

async function until<T>(read: () => Promise<T> | T, done: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
	for (const stop = Date.now() + ms; Date.now() < stop; await new Promise((r) => setTimeout(r, 50))) {
		const value = await read();
		if (done(value)) return value;
	}
	throw new Error(`timed out waiting for ${what}`);
}

describe('participant and dashboard sockets: join tokens, revocation, key rotation, authentication', () => {
	let server: TestServer;
	const tokens = new Map<string, string>();
	const sockets: { close(): void }[] = [];

	beforeAll(async () => {
		server = await startTestServer('access-test');
	});
	afterAll(async () => {
		for (const s of sockets) s.close();
		await server?.close();
	});

	async function createProject(config: Record<string, unknown>): Promise<Project> {
		const project = await server.createProject({ rounds: 1, minParticipants: 2, shardCount: 3, roundTimeoutSec: 60, ...config });
		tokens.set(project.id, await server.joinToken(project.id));
		return project;
	}
	const participant = (options: { keys?: DeviceKeypair; deviceId?: string; joinToken?: string | null } = {}) => {
		const p = new ScriptedParticipant(server.url, { joinToken: (id) => tokens.get(id), ...options });
		sockets.push(p.socket);
		return p;
	};
	/** The record of a token this test holds, found by its shown prefix. */
	async function recordOf(projectId: string, token: string): Promise<JoinTokenRecord> {
		const { json } = await server.api<JoinTokenRecord[]>('GET', `/projects/${projectId}/join-tokens`);
		const record = json.find((r) => token.startsWith(r.prefix));
		if (!record) throw new Error(`no join token record for ${token.slice(0, 10)}`);
		return record;
	}

	it('registers a new device only with a valid join token of its project, counts it once, and lets it back in without one', async () => {
		const project = await createProject({ name: 'invite only' });
		const other = await createProject({ name: 'another' });
		const refused = (reply: unknown) => expect(reply).toMatchObject({ ok: false, code: 'JOIN_TOKEN_INVALID' });

		refused(await participant({ joinToken: null }).tryLogin(project.id));
		refused(await participant({ joinToken: forgedToken() }).tryLogin(project.id));
		refused(await participant({ joinToken: tokens.get(other.id) }).tryLogin(project.id));

		const revokedToken = await server.joinToken(project.id);
		const revokedRecord = await recordOf(project.id, revokedToken);
		expect((await server.api('DELETE', `/projects/${project.id}/join-tokens/${revokedRecord.id}`)).status).toBe(200);
		refused(await participant({ joinToken: revokedToken }).tryLogin(project.id));

		const expiredToken = forgedToken();
		await server.store.joinTokens.create({
			projectId: project.id,
			label: 'expired',
			prefix: expiredToken.slice(0, 10),
			tokenHash: sha256Hex(new TextEncoder().encode(expiredToken)),
			createdBy: 'test',
			expiresAt: new Date(Date.now() - 1_000).toISOString(),
			maxDevices: null
		});
		refused(await participant({ joinToken: expiredToken }).tryLogin(project.id));
		expect(await server.store.devices.countByProject(project.id)).toBe(0);

		// One slot: two devices get a challenge, only the first login takes the slot.
		const single = await server.joinToken(project.id, { maxDevices: 1 });
		const [first, second] = [participant({ joinToken: single }), participant({ joinToken: single })];
		const [firstChallenge, secondChallenge] = await Promise.all([first.tryLogin(project.id), second.tryLogin(project.id)]);
		const outcomes = [firstChallenge, secondChallenge].map((r) => (r.ok ? 'ok' : r.code)).sort();
		expect(outcomes).toEqual(['JOIN_TOKEN_INVALID', 'ok']);
		refused(await participant({ joinToken: single }).tryLogin(project.id));
		const singleRecord = await recordOf(project.id, single);
		expect(singleRecord.devicesJoined).toBe(1);

		const member = participant();
		expect(await member.tryLogin(project.id)).toMatchObject({ ok: true });
		const stored = await server.store.devices.get(project.id, member.deviceId);
		expect(stored).toMatchObject({ revokedAt: null, joinTokenId: (await recordOf(project.id, tokens.get(project.id)!)).id });
		expect(stored!.keyCreatedAt).toBe(stored!.registeredAt);
		// A registered device logs in again without a token, and is not counted again.
		member.socket.close();
		const back = participant({ keys: member.keys, joinToken: null });
		expect(await back.tryLogin(project.id)).toMatchObject({ ok: true, deviceId: member.deviceId });
		expect((await recordOf(project.id, tokens.get(project.id)!)).devicesJoined).toBe(1);
		expect(await server.store.devices.countByProject(project.id)).toBe(2);
		// The token never reaches the store or the log in clear.
		expect(server.logs.join('\n')).not.toContain(tokens.get(project.id)!);
	});

	it('hands each login a shard link with a fresh access token, which a second login replaces', async () => {
		const project = await createProject({ name: 'shards' });
		const device = participant();
		const first = await device.tryLogin(project.id);
		if (!first.ok) throw new Error(first.message);
		expect(first.shardPath).toMatch(new RegExp(`^/api/v1/projects/${project.id}/shard\\?device=${device.deviceId}&access=[A-Za-z0-9_-]{43}$`));
		expect((await fetch(`${server.url}${first.shardPath}`)).status).toBe(200);
		const again = await participant({ keys: device.keys }).tryLogin(project.id);
		if (!again.ok) throw new Error(again.message);
		expect(again.shardPath).not.toBe(first.shardPath);
		expect((await fetch(`${server.url}${first.shardPath}`)).status).toBe(401);
		expect((await fetch(`${server.url}${again.shardPath}`)).status).toBe(200);
		// Only hashes are kept: neither access token nor the join token is anywhere in the store's files.
		const stored = storeText(server.dataDir);
		for (const secret of [new URL(first.shardPath!, server.url).searchParams.get('access')!, tokens.get(project.id)!]) {
			expect(stored).not.toContain(secret);
		}
		expect(stored).toContain(sha256Hex(new TextEncoder().encode(tokens.get(project.id)!)));
	});

	it('drops a device revoked mid-round, refuses its late update and its logins, and commits the round with the others', async () => {
		const project = await createProject({ name: 'revoke' });
		const [a, b, c] = [0, 1, 2].map(() => participant());
		for (const p of [a, b, c]) await p.login(project.id);
		expect((await server.api('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const [taskA, taskB, taskC] = await Promise.all([a.task, b.task, c.task]);
		const length = decodeWeights(new Uint8Array(taskA.weights as ArrayBuffer)).values.length;
		expect(await a.send(a.envelope(taskA, new Float32Array(length).fill(0.01), 100))).toMatchObject({ ok: true });

		// The revocation's store write is held, so the device is still connected when its late update
		// arrives on its socket: the update is refused with the code.
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		const devices = server.store.devices;
		const update = devices.update.bind(devices);
		const hold = vi.spyOn(devices, 'update').mockImplementation(async (projectId, deviceId, patch) => {
			if (patch.revokedAt) await held;
			return update(projectId, deviceId, patch);
		});
		const disconnected = new Promise<string>((resolve) => c.socket.once('disconnect', resolve));
		const revoking = server.api<Device>('POST', `/projects/${project.id}/devices/${c.deviceId}/revoke`);
		try {
			await until(() => hold.mock.calls.some(([, , patch]) => patch.revokedAt), Boolean, 'the revocation to begin');
			expect(c.socket.connected).toBe(true);
			expect(await c.send(c.envelope(taskC, new Float32Array(length).fill(0.02), 100))).toMatchObject({ ok: false, code: 'DEVICE_REVOKED' });
		} finally {
			release();
			hold.mockRestore();
		}
		const revoked = await revoking;
		expect(revoked.status).toBe(200);
		expect(revoked.json.revokedAt).not.toBeNull();
		expect(await disconnected).toBe('io server disconnect');
		expect(c.revoked).toMatchObject({ deviceId: c.deviceId });
		// It cannot come back, with or without a token.
		expect(await participant({ keys: c.keys }).tryLogin(project.id)).toMatchObject({ ok: false, code: 'DEVICE_REVOKED' });
		expect(await participant({ keys: c.keys, joinToken: null }).tryLogin(project.id)).toMatchObject({ ok: false, code: 'DEVICE_REVOKED' });

		const started = Date.now();
		expect(await b.send(b.envelope(taskB, new Float32Array(length).fill(-0.02), 300))).toMatchObject({ ok: true });
		const [round] = await until(
			async () => (await server.api<Round[]>('GET', `/projects/${project.id}/rounds`)).json,
			(rounds) => rounds[0]?.status === 'committed' || rounds[0]?.status === 'failed',
			'the round to close'
		);
		expect(round.status).toBe('committed');
		expect(round.accepted.sort()).toEqual([a.deviceId, b.deviceId].sort());
		// Without waiting for the deadline: the revoked device counted as gone at once.
		expect(Date.now() - started).toBeLessThan(15_000);
		expect(await server.store.devices.get(project.id, c.deviceId)).toMatchObject({ online: false, revokedAt: revoked.json.revokedAt });
	});

	it('revoking a device with revokeJoinToken also revokes its join token (audited): the phone cannot register again as a new device', async () => {
		const project = await createProject({ name: 'revoke with token' });
		const ownToken = await server.joinToken(project.id);
		const device = participant({ joinToken: ownToken });
		await device.login(project.id);
		const keep = participant({ joinToken: ownToken });
		await keep.login(project.id);
		const record = await recordOf(project.id, ownToken);
		// Without the flag the token stays valid: a new key registers with it.
		expect((await server.api('POST', `/projects/${project.id}/devices/${keep.deviceId}/revoke`)).status).toBe(200);
		expect((await recordOf(project.id, ownToken)).revokedAt).toBeNull();
		expect(await participant({ joinToken: ownToken }).tryLogin(project.id)).toMatchObject({ ok: true });

		expect((await server.api('POST', `/projects/${project.id}/devices/${device.deviceId}/revoke`, { revokeJoinToken: 'yes' })).status).toBe(400);
		const revoked = await server.api<Device>('POST', `/projects/${project.id}/devices/${device.deviceId}/revoke`, { revokeJoinToken: true });
		expect(revoked.status).toBe(200);
		expect(revoked.json).toMatchObject({ joinTokenId: record.id, revokedAt: expect.any(String) });
		expect((await recordOf(project.id, ownToken)).revokedAt).toEqual(expect.any(String));
		// The same phone with cleared storage (a fresh key) and the same link: refused.
		expect(await participant({ joinToken: ownToken }).tryLogin(project.id)).toMatchObject({ ok: false, code: 'JOIN_TOKEN_INVALID' });
		const [entry] = await server.store.audit.list(server.organisationId, { action: 'joinToken.revoked' });
		expect(entry).toMatchObject({ target: { type: 'joinToken', id: record.id }, details: { reason: 'device revoked', deviceId: device.deviceId } });
		// The project's other token is untouched.
		expect((await recordOf(project.id, tokens.get(project.id)!)).revokedAt).toBeNull();
	});

	it('answers an unknown project like a bad join token, so project ids cannot be probed', async () => {
		const other = await createProject({ name: 'probe' });
		for (const joinToken of [null, forgedToken(), tokens.get(other.id)!]) {
			expect(await participant({ joinToken }).tryLogin('no-such-project')).toMatchObject({ ok: false, code: 'JOIN_TOKEN_INVALID' });
		}
		// A device registered in a real project still logs in as before.
		const device = participant();
		await device.login(other.id);
		expect(await participant({ keys: device.keys, joinToken: null }).tryLogin(other.id)).toMatchObject({ ok: true });
	});

	it('rotates a device key signed by the old and the new key: the old key is locked out, the new one logs in as the same device', async () => {
		const project = await createProject({ name: 'rotate' });
		const device = participant();
		await device.login(project.id);
		const before = (await server.store.devices.get(project.id, device.deviceId))!;
		const oldKeys = device.keys;
		const next = generateDeviceKeypair();

		expect(await device.rotateKey(project.id, next, { signWith: generateDeviceKeypair() })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
		// The new key's signature by another key: the caller does not hold the new secret key.
		const newPublicKey = toBase64(next.publicKey);
		const message = rotateKeyMessage({ projectId: project.id, deviceId: device.deviceId, newPublicKey });
		expect(
			await device.ask('auth:rotate-key', {
				newPublicKey,
				signature: toBase64(signMessage(oldKeys.secretKey, message)),
				newSignature: toBase64(signMessage(generateDeviceKeypair().secretKey, message))
			})
		).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
		expect(await participant().ask('auth:rotate-key', { newPublicKey, signature: 'AAAA', newSignature: 'AAAA' })).toMatchObject({
			ok: false,
			code: 'UNAUTHENTICATED'
		});
		expect((await server.store.devices.get(project.id, device.deviceId))!.publicKey).toBe(before.publicKey);

		const rotated = await device.rotateKey(project.id, next);
		expect(rotated).toMatchObject({ ok: true, keyCreatedAt: expect.any(String) });
		const after = (await server.store.devices.get(project.id, device.deviceId))!;
		expect(after.publicKey).toBe(newPublicKey);
		expect(after.keyCreatedAt > before.keyCreatedAt).toBe(true);
		expect(after.registeredAt).toBe(before.registeredAt);
		const [audit] = await server.store.audit.list(server.organisationId, { action: 'device.keyRotated' });
		expect(audit).toMatchObject({ actor: { type: 'device', id: device.deviceId }, target: { type: 'device', id: device.deviceId } });

		// The old key derives the device's id but is no longer its key, even with a valid token.
		expect(await participant({ keys: oldKeys }).tryLogin(project.id)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
		// Another key claiming the device's id is refused too.
		expect(await participant({ deviceId: device.deviceId }).tryLogin(project.id)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
		const again = participant({ keys: next, deviceId: device.deviceId, joinToken: null });
		expect(await again.tryLogin(project.id)).toMatchObject({ ok: true, deviceId: device.deviceId });
		expect(await server.store.devices.countByProject(project.id)).toBe(1);
	});

	it('authenticates dashboards and shows each only the projects of its own organisations; the root namespace serves nobody', async () => {
		const mine = await createProject({ name: 'watched' });
		const organisation = await server.store.organisations.create('Elsewhere');
		const theirs = await server.store.projects.create({ ...PROJECT_DEFAULTS, name: 'not yours' }, { organisationId: organisation.id });

		const dashboard = (headers: Record<string, string> = {}) => {
			const socket = io(`${server.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
			sockets.push(socket);
			return socket;
		};
		expect(await connectOutcome(dashboard())).toBe('UNAUTHENTICATED');
		expect(await connectOutcome(dashboard({ authorization: 'Bearer qfk_000000000000_nope' }))).toBe('UNAUTHENTICATED');
		expect(await connectOutcome(dashboard({ cookie: 'qflare_session=forged' }))).toBe('UNAUTHENTICATED');

		const owner = dashboard({ authorization: `Bearer ${server.ownerKey}` });
		expect(await connectOutcome(owner)).toBe('connected');
		expect(await owner.timeout(5_000).emitWithAck('watch', { projectId: theirs.id })).toMatchObject({ ok: false, code: 'UNKNOWN_PROJECT' });
		expect(await owner.timeout(5_000).emitWithAck('watch', { projectId: 'nope' })).toMatchObject({ ok: false, code: 'UNKNOWN_PROJECT' });
		const seen = new Promise<Project>((resolve) => owner.once('project', resolve));
		expect(await owner.timeout(5_000).emitWithAck('watch', { projectId: mine.id })).toEqual({ ok: true });
		expect((await seen).id).toBe(mine.id);

		const root = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { authorization: `Bearer ${server.ownerKey}` } });
		sockets.push(root);
		expect(await connectOutcome(root)).toBe('UNAUTHENTICATED');
		const unknown = io(`${server.url}/admin`, { transports: ['websocket'], reconnection: false, forceNew: true });
		sockets.push(unknown);
		expect(await connectOutcome(unknown)).toBe('Invalid namespace');
	});
});

describe('participant socket rate limits', () => {
	let server: TestServer;
	afterAll(() => server?.close());

	it('limits registrations of new devices per address, not logins of registered ones', async () => {
		const limited = await startTestServer('registration-limit-test', { rateLimits: { registration: { points: 2, durationSec: 60 } } });
		try {
			const project = await limited.createProject({ name: 'limited' });
			const token = await limited.joinToken(project.id);
			const devices = [0, 1, 2].map(() => new ScriptedParticipant(limited.url, { joinToken: token }));
			expect(await devices[0].tryLogin(project.id)).toMatchObject({ ok: true });
			expect(await devices[1].tryLogin(project.id)).toMatchObject({ ok: true });
			expect(await devices[2].tryLogin(project.id)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
			const back = new ScriptedParticipant(limited.url, { keys: devices[0].keys });
			expect(await back.tryLogin(project.id)).toMatchObject({ ok: true });
			for (const p of [...devices, back]) p.socket.close();
		} finally {
			await limited.close();
		}
	});

	it('limits login challenges per address, registered devices included', async () => {
		const limited = await startTestServer('challenge-limit-test', { rateLimits: { challenge: { points: 3, durationSec: 60 } } });
		try {
			const project = await limited.createProject({ name: 'limited' });
			const token = await limited.joinToken(project.id);
			const device = new ScriptedParticipant(limited.url, { joinToken: token });
			const again = [0, 1, 2].map(() => new ScriptedParticipant(limited.url, { keys: device.keys }));
			expect(await device.tryLogin(project.id)).toMatchObject({ ok: true });
			expect(await again[0].tryLogin(project.id)).toMatchObject({ ok: true });
			expect(await again[1].tryLogin(project.id)).toMatchObject({ ok: true });
			expect(await again[2].tryLogin(project.id)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
			for (const p of [device, ...again]) p.socket.close();
		} finally {
			await limited.close();
		}
	});

	it('counts challenges for an unknown project as bad join tokens', async () => {
		const limited = await startTestServer('unknown-project-limit-test', { rateLimits: { badJoinToken: { points: 2, durationSec: 60 } } });
		try {
			const devices = [0, 1, 2].map(() => new ScriptedParticipant(limited.url, { joinToken: forgedToken() }));
			expect(await devices[0].tryLogin('no-such-project')).toMatchObject({ ok: false, code: 'JOIN_TOKEN_INVALID' });
			expect(await devices[1].tryLogin('no-such-project')).toMatchObject({ ok: false, code: 'JOIN_TOKEN_INVALID' });
			expect(await devices[2].tryLogin('no-such-project')).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
			for (const p of devices) p.socket.close();
		} finally {
			await limited.close();
		}
	});

	it('refuses an address that sent too many invalid join tokens, even with a valid one afterwards', async () => {
		server = await startTestServer('access-limits-test', { rateLimits: { badJoinToken: { points: 20, durationSec: 60 } } });
		const project = await server.createProject({ name: 'limited' });
		const token = await server.joinToken(project.id);
		const sockets: ScriptedParticipant[] = [];
		const attempt = async (joinToken: string) => {
			const p = new ScriptedParticipant(server.url, { joinToken });
			sockets.push(p);
			return p.tryLogin(project.id);
		};
		const replies = [];
		for (let i = 0; i < 21; i++) replies.push(await attempt(forgedToken()));
		expect(replies.slice(0, 20).every((r) => !r.ok && r.code === 'JOIN_TOKEN_INVALID')).toBe(true);
		expect(replies[20]).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
		expect(await attempt(token)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
		for (const p of sockets) p.socket.close();
	});
});
