import { DASHBOARD_NAMESPACE, decodeWeights, type Project, type Round } from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { connectOutcome } from '../test-support/connect-outcome';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { startTestServer, type TestServer } from '../test-support/test-server';

describe('the dashboard feed of a round', () => {
	let t: TestServer | undefined;
	const sockets: Socket[] = [];
	afterEach(async () => {
		for (const s of sockets) s.close();
		sockets.length = 0;
		await t?.close();
	});

	it('sends every change of status at once, and the per-update counts at most once per delay, the newest winning', async () => {
		t = await startTestServer('dashboard-feed');
		const project = await t.createProject({ name: 'feed', rounds: 1, minParticipants: 12, shardCount: 12, roundTimeoutSec: 60 });
		const dashboard = io(`${t.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { authorization: `Bearer ${t.ownerKey}` } });
		sockets.push(dashboard);
		expect(await connectOutcome(dashboard)).toBe('connected');
		expect(await dashboard.timeout(5_000).emitWithAck('watch', { projectId: project.id })).toEqual({ ok: true });
		const events: Round[] = [];
		dashboard.on('round', (r: Round) => events.push(r));

		const token = await t.joinToken(project.id);
		const devices = Array.from({ length: 12 }, () => new ScriptedParticipant(t!.url, { joinToken: token }));
		for (const d of devices) sockets.push(d.socket);
		for (const d of devices) await d.login(project.id);
		expect((await t.api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const tasks = await Promise.all(devices.map((d) => d.task));
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		await Promise.all(devices.map((d, k) => d.send(d.envelope(tasks[k], new Float32Array(length).fill(0.001 * (k + 1)), 10))));
		await expect.poll(() => events.at(-1)?.status, { timeout: 10_000 }).toBe('committed');

		const statuses = events.map((e) => e.status);
		// Every status is there, in order.
		expect([...new Set(statuses)]).toEqual(['open', 'training', 'aggregating', 'committed']);
		// 12 accepted updates, but far fewer training events than one per update.
		expect(statuses.filter((s) => s === 'training').length).toBeLessThanOrEqual(4);
		expect(events.at(-1)?.accepted).toHaveLength(12);
	});
});
