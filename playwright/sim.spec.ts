import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { parseSimArgs } from './sim/args';
import type { SimReport } from './sim/report';
import { runSimulation } from './sim/run';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

test('npm run sim: 2 browsers + 3 Node participants train 2 MNIST MLP rounds and write a report and a chart', async () => {
	test.setTimeout(6 * 60_000);
	const out = mkdtempSync(path.join(tmpdir(), 'qflare-sim-spec-'));
	const parsed = parseSimArgs(
		['--browsers', '2', '--node-participants', '3', '--dataset', 'mnist', '--model', 'mlp', '--rounds', '2', '--seed', '3', '--out', out]
	);
	if (parsed.help) throw new Error('unexpected --help');
	const { reportFile, chartFile } = await runSimulation(parsed.options, (line) => console.log(line));

	const report = JSON.parse(readFileSync(reportFile, 'utf8')) as SimReport;
	expect(path.dirname(reportFile)).toBe(out);
	const committed = report.rounds.filter((r) => r.status === 'committed');
	expect(committed.map((r) => r.number)).toEqual([1, 2]);
	for (const r of committed) {
		expect(r.selected).toBe(5);
		expect(r.accepted).toBe(5);
		expect(r.testAccuracy).toBeGreaterThan(0.5);
		expect(r.wallSeconds).toBeGreaterThan(0);
	}
	expect(report.totals.participantsByKind).toEqual({ browser: 2, node: 3 });
	const kinds = report.participants.map((p) => p.kind).sort();
	expect(kinds).toEqual(['browser', 'browser', 'node', 'node', 'node']);
	for (const p of report.participants) {
		expect(p.backend).toMatch(/wasm|webgl|webgpu|cpu/);
		expect(p.trainedRounds.map((t) => t.round)).toEqual([1, 2]);
		// Two MLP updates of 199,210 f32 each went out, and two global models came in.
		expect(p.bytesSent).toBeGreaterThan(2 * 199_210 * 4);
		expect(p.bytesReceived).toBeGreaterThan(2 * 199_210 * 4);
		if (p.kind === 'browser') expect(p.websocketBytesSent).toBeGreaterThan(2 * 199_210 * 4);
	}

	const png = readFileSync(chartFile);
	expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
	// IHDR: width and height as big-endian uint32 at offsets 16 and 20.
	expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([800, 420]);
	expect(statSync(chartFile).size).toBeGreaterThan(10_000);
	expect(statSync(chartFile).size).toBeLessThan(2_000_000);
});
