import { decodeWeights, type ModelRecord, type Project, type RoundTask } from '@qflare/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedParticipant } from './test-support/scripted-participant';
import { startTestServer, type TestServer } from './test-support/test-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('membership-inference audit of committed demo models', () => {
	let server: TestServer | undefined;
	let participants: ScriptedParticipant[] = [];
	afterEach(async () => {
		for (const p of participants) p.socket.close();
		participants = [];
		await server?.close();
		server = undefined;
	});

	it('stores an audit with each committed version and serves it with the model list', async () => {
		server = await startTestServer('membership-audit');
		const project = await server.createProject({ name: 'audited', rounds: 1, minParticipants: 2, shardCount: 4, roundTimeoutSec: 60 });
		expect(project.dataSource).toBe('demo');
		const token = await server.joinToken(project.id);
		participants = [0, 1].map(() => new ScriptedParticipant(server!.url, { joinToken: token }));
		for (const p of participants) await p.login(project.id);
		expect((await server.api<Project>('POST', `/projects/${project.id}/start`)).status).toBe(200);
		const tasks: RoundTask[] = await Promise.all(participants.map((p) => p.task));
		const length = decodeWeights(new Uint8Array(tasks[0].weights as ArrayBuffer)).values.length;
		for (const [k, p] of participants.entries()) {
			const delta = new Float32Array(length).map((_, i) => Math.sin(i + k) * 1e-3);
			expect(await p.send(p.envelope(tasks[k], delta, 100))).toMatchObject({ ok: true });
		}

		// The audit follows the commit: poll the model list the dashboard reads.
		const deadline = Date.now() + 30_000;
		let models: ModelRecord[] = [];
		for (;;) {
			models = (await server.api<ModelRecord[]>('GET', `/projects/${project.id}/models`)).json;
			if (models.find((m) => m.version === 1)?.membershipAudit) break;
			if (Date.now() > deadline) throw new Error(`no audit of v1: ${JSON.stringify(models)}\n${server.logs.join('\n')}`);
			await sleep(100);
		}
		const [v0, v1] = models;
		// The initial model was never trained: nobody audits it.
		expect(v0).toMatchObject({ version: 0, membershipAudit: null });
		// Two shards of 2,000 rows, 10% held out by each device: plenty for 1,000 members.
		expect(v1.membershipAudit).toMatchObject({ members: 1000, nonMembers: 1000 });
		const { auc, advantage } = v1.membershipAudit!;
		expect(auc).toBeGreaterThanOrEqual(0);
		expect(auc).toBeLessThanOrEqual(1);
		expect(advantage).toBeGreaterThanOrEqual(0);
		expect(advantage).toBeLessThanOrEqual(1);
		// A barely trained model: the attack does about as well as a coin.
		expect(Math.abs(auc - 0.5)).toBeLessThan(0.1);
		expect(server.logs.some((l) => /membership audit of model v1 of .*: attack AUC \d\.\d{4}/.test(l))).toBe(true);
	}, 60_000);
});
