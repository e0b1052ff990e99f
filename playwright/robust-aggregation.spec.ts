import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startNodeParticipant, type NodeParticipant } from '@qflare/participant-node';
import type { Round } from '@qflare/protocol';
import { committed } from './support/api-client';
import { AttackingParticipant } from './support/attacking-participant';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

const ROUNDS = 3;

interface RunResult {
	accuracy: number[];
	attackerReplies: AttackingParticipant['replies'];
}

/** One federated run of 3 honest Node participants (MNIST MLP) and, optionally, one attacker. */
async function run(strategy: Record<string, unknown>, withAttacker: boolean, rounds = ROUNDS): Promise<RunResult> {
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start();
	const api = server.api();
	const honest: NodeParticipant[] = [];
	const attacker = new AttackingParticipant('scaled-garbage');
	try {
		const project = await api.createProject({
			name: `robust ${String(strategy.name)}${withAttacker ? ' under attack' : ''}`,
			rounds,
			minParticipants: 3,
			shardCount: 4,
			batchSize: 10,
			learningRate: 0.1,
			roundTimeoutSec: 300,
			strategy
		});
		const joinToken = await api.joinToken(project.id);
		const root = mkdtempSync(path.join(tmpdir(), 'qflare-robust-'));
		for (let i = 0; i < 3; i++) {
			honest.push(await startNodeParticipant({ server: server.url, project: project.id, joinToken, dataDir: path.join(root, `honest-${i}`) }));
		}
		if (withAttacker) await attacker.join(server.url, project.id, joinToken);
		const deadline = Date.now() + 60_000;
		while ((await api.devices(project.id)).filter((d) => d.samples > 0).length < (withAttacker ? 4 : 3)) {
			if (Date.now() > deadline) throw new Error('participants did not become ready');
			await new Promise((r) => setTimeout(r, 250));
		}
		await api.start(project.id);
		const records = await api.waitForRounds(project.id, (r) => committed(r).length >= rounds, 5 * 60_000);
		const done = committed(records).sort((a: Round, b: Round) => a.number - b.number);
		for (const r of done) expect(r.accepted).toHaveLength(withAttacker ? 4 : 3);
		return { accuracy: done.map((r) => r.metrics.testAccuracy ?? 0), attackerReplies: attacker.replies };
	} finally {
		for (const p of honest) p.stop();
		attacker.close();
		await server.stop();
	}
}

test('the coordinate-wise median withstands a participant sending garbage scaled by 1e3; FedAvg does not', async () => {
	const clean = await run({ name: 'fedavg' }, false);
	const medianAttacked = await run({ name: 'median' }, true);
	// One round is enough to see FedAvg pulled; after it the honest clients train from a ruined
	// model, their losses turn NaN and their updates are rejected, so later rounds cannot commit.
	const fedavgAttacked = await run({ name: 'fedavg' }, true, 1);
	const fmt = (xs: number[]) => xs.map((x) => x.toFixed(4)).join(', ');
	console.log(`FedAvg, no attacker:         ${fmt(clean.accuracy)}`);
	console.log(`median, 1 of 4 sends garbage: ${fmt(medianAttacked.accuracy)}`);
	console.log(`FedAvg, 1 of 4 sends garbage: ${fmt(fedavgAttacked.accuracy)}`);

	// The garbage is signed and well-formed, so the server accepts it: only the strategy protects the model.
	expect(medianAttacked.attackerReplies.length).toBe(ROUNDS);
	for (const reply of medianAttacked.attackerReplies) expect(reply.ok).toBe(true);

	const final = (r: RunResult) => r.accuracy[ROUNDS - 1];
	expect(final(clean)).toBeGreaterThan(0.85);
	expect(final(medianAttacked)).toBeGreaterThanOrEqual(final(clean) - 0.02);
	expect(fedavgAttacked.accuracy[0]).toBeLessThan(clean.accuracy[0] - 0.3);
});
