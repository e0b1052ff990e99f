import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deviceIdFromPublicKey, fromBase64 } from '@qflare/pq';
import type { Device } from '@qflare/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_FILE } from './identity-file';
import { startNodeParticipant } from './participant';
import type { OwnerApi } from './test-support/owner-api';
import { startOwnedServer, type OwnedServer } from './test-support/owned-server';
import { until } from './test-support/until';

const root = mkdtempSync(path.join(tmpdir(), 'qflare-participant-access-'));

describe('a Node participant on an invite-only server', () => {
	let server: OwnedServer;
	let owner: OwnerApi;

	const join = async (project: string, dataDir: string, options: { joinToken?: string; rotateKey?: boolean } = {}) => {
		const lines: string[] = [];
		const p = await startNodeParticipant({ server: server.url, project, dataDir, log: (l) => lines.push(l), reconnectionDelayMs: 200, ...options });
		server.participants.push(p);
		return { p, lines };
	};

	beforeAll(async () => {
		server = await startOwnedServer(root);
		owner = server.owner;
	});
	afterAll(() => server?.close());

	it('stops with a clear message without a join token, and registers with one', async () => {
		const project = await owner.createProject({ name: 'invite only', rounds: 1 });
		const dir = path.join(root, 'device');
		const { p: refused } = await join(project.id, dir);
		const final = await refused.finished;
		expect(final).toMatchObject({ phase: 'failed', refused: 'JOIN_TOKEN_INVALID' });
		expect(final.error).toMatch(/^This project is invite-only: ask the coordinator for a join link or QR code/);
		expect(await owner.call<Device[]>('GET', `/projects/${project.id}/devices`)).toEqual([]);

		const { p } = await join(project.id, dir, { joinToken: await owner.joinToken(project.id) });
		await until('login', () => (p.state().project ? true : undefined));
		expect((await owner.call<Device[]>('GET', `/projects/${project.id}/devices`)).map((d) => d.id)).toEqual([p.deviceId]);
		p.stop();
		await p.finished;
	}, 60_000);

	it('rotates its key with rotateKey: the identity file keeps the id, and a restart logs in with the new key and no token', async () => {
		const project = await owner.createProject({ name: 'rotation', rounds: 1 });
		const dir = path.join(root, 'rotating');
		const { p, lines } = await join(project.id, dir, { joinToken: await owner.joinToken(project.id), rotateKey: true });
		await until('the key rotation', () => (lines.some((l) => /device key rotated/.test(l)) ? true : undefined));
		const identity = JSON.parse(readFileSync(path.join(dir, IDENTITY_FILE), 'utf8')) as { deviceId: string; publicKey: string; rotatedAt: string };
		expect(identity.deviceId).toBe(p.deviceId);
		expect(deviceIdFromPublicKey(fromBase64(identity.publicKey))).not.toBe(p.deviceId);
		const [device] = await owner.call<Device[]>('GET', `/projects/${project.id}/devices`);
		expect(device).toMatchObject({ id: p.deviceId, publicKey: identity.publicKey });
		p.stop();
		await p.finished;

		const { p: again } = await join(project.id, dir);
		await until('the login with the new key', () => (again.state().project ? true : again.state().phase === 'failed' ? false : undefined));
		expect(again.state().error).toBeNull();
		expect(again.deviceId).toBe(p.deviceId);
		again.stop();
	}, 60_000);

	it('stops with a clear message when an admin revokes it', async () => {
		const project = await owner.createProject({ name: 'revocation', rounds: 1 });
		const { p } = await join(project.id, path.join(root, 'revoked'), { joinToken: await owner.joinToken(project.id) });
		await until('login', () => (p.state().project ? true : undefined));
		await owner.call('POST', `/projects/${project.id}/devices/${p.deviceId}/revoke`);
		const final = await p.finished;
		expect(final).toMatchObject({ phase: 'failed', refused: 'DEVICE_REVOKED' });
		expect(final.error).toMatch(/^An administrator revoked this device/);
	}, 60_000);
});
