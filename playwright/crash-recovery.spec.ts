import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startNodeParticipant, type NodeParticipant } from '@qflare/participant-node';
import type { LogEntry } from '@qflare/participant';
import { committed } from './support/api-client';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

const ROUNDS = 4;
const PARTICIPANTS = 4;

/**
 * Where the server kills itself (SIGKILL, no clean-up), one point per start; the last start
 * runs without one. The counts spread the crashes over rounds 1 to 3: update-durable:2 dies in
 * round 1 with one update acknowledged and one stored but not yet acknowledged; model-saved:2
 * dies in round 2 between saving model v2 and marking the round committed (round 1 resumes
 * and commits first); round-committed:2 dies right after round 3 is marked committed.
 */
const FAILPOINTS = ['update-durable:2', 'model-saved:2', 'round-committed:2'];

/** What one participant did in each round, read from its session log as entries arrive. */
interface RoundActivity {
	trainings: number;
	accepted: number;
	rejected: number;
}

function watchActivity(participant: NodeParticipant): Map<number, RoundActivity> {
	const byRound = new Map<number, RoundActivity>();
	let last: LogEntry | undefined;
	participant.subscribe((state) => {
		// Newest first: everything before the entry seen last is new.
		const fresh: LogEntry[] = [];
		for (const entry of state.log) {
			if (entry === last) break;
			fresh.push(entry);
		}
		if (fresh.length === 0) return;
		last = state.log[0];
		for (const entry of fresh.reverse()) {
			const m = /^round (\d+): (training from|update accepted|update rejected)/.exec(entry.message);
			if (!m) continue;
			const n = Number(m[1]);
			const a = byRound.get(n) ?? { trainings: 0, accepted: 0, rejected: 0 };
			if (m[2] === 'training from') a.trainings++;
			else if (m[2] === 'update accepted') a.accepted++;
			else a.rejected++;
			byRound.set(n, a);
		}
	});
	return byRound;
}

test('SIGKILLs while updates are acknowledged, after a model is saved and after a commit: every round commits once, nothing is asked twice', async () => {
	test.setTimeout(10 * 60_000);
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start({ env: { QFLARE_FAILPOINT: FAILPOINTS[0] } });
	const api = server.api();
	const participants: NodeParticipant[] = [];
	try {
		const project = await api.createProject({
			name: 'crash recovery',
			rounds: ROUNDS,
			minParticipants: PARTICIPANTS,
			shardCount: 20,
			batchSize: 32,
			learningRate: 0.1,
			roundTimeoutSec: 300
		});
		const joinToken = await api.joinToken(project.id);
		const root = mkdtempSync(path.join(tmpdir(), 'qflare-crash-'));
		for (let i = 0; i < PARTICIPANTS; i++) {
			participants.push(
				await startNodeParticipant({
					server: server.url,
					project: project.id,
					joinToken,
					dataDir: path.join(root, `p${i}`),
					reconnectionDelayMs: 250,
					reconnectionDelayMaxMs: 1_000
				})
			);
		}
		const activity = participants.map(watchActivity);
		const deadline = Date.now() + 90_000;
		while ((await api.devices(project.id)).filter((d) => d.samples > 0).length < PARTICIPANTS) {
			if (Date.now() > deadline) throw new Error('participants did not become ready');
			await new Promise((r) => setTimeout(r, 250));
		}
		await api.start(project.id);

		// Each start dies at its failpoint; the next starts on the same data directory with the next point.
		for (let i = 0; i < FAILPOINTS.length; i++) {
			const exit = await server.waitForExit(4 * 60_000);
			expect(exit.signal, `the server should have died at ${FAILPOINTS[i]}`).toBe('SIGKILL');
			expect(server.output.some((l) => l.includes(`failpoint ${FAILPOINTS[i]} reached`))).toBe(true);
			await server.start({ env: i + 1 < FAILPOINTS.length ? { QFLARE_FAILPOINT: FAILPOINTS[i + 1] } : {} }).catch((e: unknown) => {
				// A resumed round may reach the next failpoint while start() is still checking the server.
				if (!/exited with SIGKILL|fetch failed/.test(String(e))) throw e;
			});
			// The next failpoint may already have been reached: the rounds are only read for the log.
			const found = await api.rounds(project.id).then(
				(rounds) => rounds.map((r) => `${r.number}:${r.status}(${r.accepted.length})`).join(' '),
				() => 'not read, the server already died again'
			);
			console.log(`restarted after ${FAILPOINTS[i]}, rounds: ${found}`);
		}

		const rounds = await api.waitForRounds(project.id, (r) => committed(r).length >= ROUNDS, 6 * 60_000);
		for (const r of rounds) console.log(`round ${r.number}: ${r.status} ${r.accepted.length} updates, model v${r.resultModelVersion}, accuracy ${r.metrics.testAccuracy}`);
		expect(rounds.filter((r) => r.status === 'failed')).toEqual([]);
		expect(rounds.map((r) => [r.number, r.status, r.baseModelVersion, r.resultModelVersion])).toEqual(
			Array.from({ length: ROUNDS }, (_, i) => [i + 1, 'committed', i, i + 1])
		);
		for (const r of rounds) expect(r.accepted).toHaveLength(PARTICIPANTS);
		expect((await api.models(project.id)).map((m) => m.version).sort((a, b) => a - b)).toEqual(Array.from({ length: ROUNDS + 1 }, (_, i) => i));
		await expect.poll(async () => (await api.project(project.id)).status, { timeout: 10_000 }).toBe('completed');

		// Each participant trained once per round and was acknowledged once: no round asked it again.
		for (const [p, byRound] of activity.entries()) {
			for (let n = 1; n <= ROUNDS; n++) {
				expect(byRound.get(n), `participant ${p} in round ${n}`).toEqual({ trainings: 1, accepted: 1, rejected: 0 });
			}
		}
	} finally {
		for (const p of participants) p.stop();
		await server.stop();
	}
});
