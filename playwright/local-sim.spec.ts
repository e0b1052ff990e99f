import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { splitExample } from '@qflare/datasets/examples';
import { scratchDirs } from './support/scratch-dirs';
import { parseSimArgs } from './sim/args';
import type { SimReport } from './sim/report';
import { runSimulation } from './sim/run';

// `npm run sim` on local data. Measured with the same arguments (3 headless participants):
//   co2, gru, window 26 -> 1 week, E=1 B=16 lr=0.05, consecutive periods:
//     federated MAE 2.88 / 1.53 / 1.17 ppm (RMSE 3.82 / 1.94 / 1.43; n 330 hold-out windows)
const CO2_MAX_FINAL_MAE_PPM = 2.5;

const tempDir = scratchDirs();

function simulate(args: string[]): Promise<{ report: SimReport; reportFile: string }> {
	const parsed = parseSimArgs(args);
	if (parsed.help) throw new Error('unexpected --help');
	return runSimulation(parsed.options, (line) => console.log(line));
}

test('npm run sim -- --example co2: 3 Node participants forecast CO2 with a GRU; federated MAE per round', async () => {
	test.setTimeout(6 * 60_000);
	const out = tempDir('qflare-sim-co2-');
	const { report } = await simulate([
		'--example', 'co2', '--browsers', '0', '--node-participants', '3', '--model', 'gru',
		'--rounds', '3', '--batch', '16', '--lr', '0.05', '--seed', '1', '--out', out
	]);
	const rounds = report.rounds.filter((r) => r.status === 'committed');
	expect(rounds.map((r) => r.number)).toEqual([1, 2, 3]);
	const mae = rounds.map((r) => r.federatedEvaluation?.mae ?? null);
	console.log(`co2 gru federated MAE per round (ppm): ${mae.map((m) => m?.toFixed(3)).join(' / ')}; ` +
		`RMSE ${rounds.map((r) => r.federatedEvaluation?.rmse?.toFixed(3)).join(' / ')}`);
	for (const r of rounds) {
		expect(r.federatedEvaluation).toMatchObject({ devices: 3, accuracy: null, macroF1: null });
		expect(r.testAccuracy).toBeNull();
	}
	expect(mae[2]!).toBeLessThan(mae[0]!);
	expect(mae[2]!).toBeLessThan(CO2_MAX_FINAL_MAE_PPM);
	expect(report.project).toMatchObject({ dataSource: 'local', model: 'gru', task: { kind: 'time-series', window: 26, horizon: 1 } });
	// The split went to OUT/data: three consecutive periods of the weekly series.
	const split = JSON.parse(readFileSync(path.join(out, 'data', 'split.json'), 'utf8')) as { parts: { count: number }[] };
	expect(split.parts.map((p) => p.count)).toEqual([762, 761, 761]);
	expect(report.totals.finalFederatedEvaluation?.mae).toBe(mae[2]);
});

test('npm run sim -- --data-dir: 2 browser pages and a Node participant train on their own breast-cancer CSVs', async () => {
	test.setTimeout(6 * 60_000);
	const out = tempDir('qflare-sim-dir-');
	const dataDir = path.join(out, 'split');
	await splitExample('breast-cancer', 3, 'iid', 2, dataDir);
	const { report } = await simulate(['--data-dir', dataDir, '--model', 'logistic', '--rounds', '3', '--min-participants', '3', '--out', out]);
	// No counts given: the folder's 3 parts decide, up to 2 browsers and the rest Node participants.
	expect(report.totals.participantsByKind).toEqual({ browser: 2, node: 1 });
	const rounds = report.rounds.filter((r) => r.status === 'committed');
	expect(rounds).toHaveLength(3);
	for (const r of rounds) expect(r.federatedEvaluation).toMatchObject({ devices: 3 });
	console.log(`breast-cancer logistic federated accuracy per round: ${rounds.map((r) => ((r.federatedEvaluation?.accuracy ?? 0) * 100).toFixed(1) + '%').join(' / ')}`);
	expect(rounds[2].federatedEvaluation!.accuracy).toBeGreaterThanOrEqual(0.9);
	for (const p of report.participants) expect(p.trainedRounds.map((t) => t.round)).toEqual([1, 2, 3]);
});
