import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Round } from '@qflare/protocol';
import { startChildServer } from '../lib/child-server';
import { api, createProject, joinToken } from '../lib/participant-client';
import { summarize, type Summary } from '../lib/stats';
import { fmtSummary, type Section, type TableRow } from '../lib/types';

interface Task {
	label: string;
	dataset: 'mnist' | 'fashion-mnist';
	partition: string;
	target: number;
}

interface SeedRun {
	seed: number;
	reached: boolean;
	/** Rounds committed until the target was first met (or the cap). */
	rounds: number;
	wallMs: number;
	bestAccuracy: number;
	accuracies: number[];
	roundWallMs: number[];
	failedRounds: number;
}

type NodeParticipantModule = typeof import('../../apps/participant-node/src/index');

/** One seed: real server child, 10 headless Node participants (apps/participant-node) in this process. */
async function runSeed(task: Task, seed: number, participants: number, cap: number, log: (m: string) => void): Promise<SeedRun> {
	const { startNodeParticipant } = (await import('../../apps/participant-node/src/index')) as NodeParticipantModule;
	const server = await startChildServer('qflare-server.ts');
	const dirs: string[] = [];
	const running: { stop(): void }[] = [];
	try {
		const project = await createProject<{ id: string }>(server, {
			name: `bench tta ${task.label} seed ${seed}`,
			dataset: task.dataset,
			model: 'mlp',
			rounds: cap,
			minParticipants: participants,
			shardCount: participants,
			partition: task.partition,
			localEpochs: 1,
			batchSize: 10,
			learningRate: 0.1,
			roundTimeoutSec: 1_800,
			seed
		});
		const token = await joinToken(server, project.id);
		for (let i = 0; i < participants; i++) {
			const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qflare-bench-p-'));
			dirs.push(dataDir);
			running.push(await startNodeParticipant({ server: server.url, project: project.id, joinToken: token, dataDir, name: `bench-${i}`, progressIntervalMs: 5_000 }));
		}
		const t0 = performance.now();
		await api(server, 'POST', `/projects/${project.id}/start`);
		let seen = 0;
		for (;;) {
			await new Promise((r) => setTimeout(r, 500));
			const rounds = (await api<Round[]>(server, 'GET', `/projects/${project.id}/rounds`)).sort((a, b) => a.number - b.number);
			const committed = rounds.filter((r) => r.status === 'committed');
			const accuracies = committed.map((r) => r.metrics.testAccuracy ?? 0);
			if (committed.length > seen) {
				seen = committed.length;
				log(`${task.label} seed ${seed} round ${seen}: test accuracy ${accuracies[seen - 1].toFixed(4)}`);
			}
			const hit = accuracies.findIndex((a) => a >= task.target);
			const failedRounds = rounds.filter((r) => r.status === 'failed').length;
			if (hit >= 0 || committed.length >= cap || failedRounds > 3) {
				const upTo = hit >= 0 ? committed.slice(0, hit + 1) : committed;
				const roundWallMs = upTo.filter((r) => r.endedAt).map((r) => Date.parse(r.endedAt!) - Date.parse(r.startedAt));
				return {
					seed,
					reached: hit >= 0,
					rounds: upTo.length,
					wallMs: performance.now() - t0,
					bestAccuracy: Math.max(0, ...accuracies),
					accuracies,
					roundWallMs,
					failedRounds
				};
			}
		}
	} finally {
		for (const p of running) p.stop();
		await server.stop();
		for (const d of dirs) rmSync(d, { recursive: true, force: true });
	}
}

export const timeToAccuracy: Section = async (ctx) => {
	// Full: the brief's setting. Quick: one seed and a few rounds, to check the plumbing.
	const seeds = ctx.quick ? [1] : [1, 2, 3];
	const cap = Number(process.env.BENCH_TTA_ROUND_CAP ?? (ctx.quick ? 2 : 60));
	const participants = 10;
	const tasks: Task[] = [
		{ label: 'MNIST MLP IID', dataset: 'mnist', partition: 'iid', target: 0.95 },
		{ label: 'Fashion-MNIST MLP Dirichlet 0.5', dataset: 'fashion-mnist', partition: 'dirichlet:0.5', target: 0.85 }
	];
	const rows: TableRow[] = [];
	const notMeasured: string[] = [];
	const results: Record<string, unknown> = {};
	const allRoundWall: number[] = [];
	for (const task of tasks) {
		const runs: SeedRun[] = [];
		for (const seed of seeds) {
			try {
				runs.push(await runSeed(task, seed, participants, cap, ctx.log));
			} catch (e) {
				notMeasured.push(`${task.label} seed ${seed}: ${(e as Error).message}`);
			}
		}
		if (!runs.length) continue;
		runs.forEach((r) => allRoundWall.push(...r.roundWallMs));
		const reached = runs.filter((r) => r.reached);
		const roundsS = summarize(runs.map((r) => r.rounds));
		const wallS = summarize(runs.map((r) => r.wallMs / 1000));
		const perRound = summarize(runs.flatMap((r) => r.roundWallMs));
		results[task.label] = { target: task.target, cap, seeds, runs, rounds: roundsS, wallSec: wallS, roundWallMs: perRound };
		rows.push({
			figure: `${task.label}, ${participants} Node participants, to ${task.target * 100}%`,
			value: `${reached.length}/${runs.length} seeds reached; ${fmtSummary(roundsS, 'rounds', 0)}, ${fmtSummary(wallS, 's', 0)}`,
			baseline: `cap ${cap} rounds; best ${Math.max(...runs.map((r) => r.bestAccuracy)).toFixed(4)}`,
			ratio: null
		});
		rows.push({
			figure: `${task.label}, wall time per round`,
			value: fmtSummary(perRound, 'ms', 0),
			baseline: '-',
			ratio: null
		});
		if (reached.length < runs.length) {
			notMeasured.push(`${task.label}: ${runs.length - reached.length} of ${runs.length} seeds did not reach ${task.target * 100}% within ${cap} rounds (their rounds count as the cap)`);
		}
	}
	const roundWallMs: Summary | undefined = allRoundWall.length ? summarize(allRoundWall) : undefined;
	return {
		section: 'time-to-accuracy',
		method:
			`Real server child process; ${participants} headless Node participants (apps/participant-node startNodeParticipant, tfjs wasm) in the bench process; ` +
			`project MLP, E=1, B=10, lr 0.1, fraction 1, shards = participants with the server's partition; test accuracy of each committed model from the ` +
			`server's evaluation on the held-out split; seeds ${seeds.join(', ')}, round cap ${cap}; medians over seeds (unreached seeds count the cap)`,
		rows,
		notMeasured,
		data: { participants, cap, seeds, tasks: results, roundWallMs }
	};
};
