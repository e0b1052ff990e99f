import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './lib/stats';
import type { SectionResult } from './lib/types';

export const RESULTS_DIR = path.join(import.meta.dirname, 'results');

/** Writes results/<section>.json; summary.json keeps the latest result of every section ever run. */
export function writeSection(result: SectionResult, machine: MachineInfo, startedAt: string): string {
	mkdirSync(RESULTS_DIR, { recursive: true });
	const file = path.join(RESULTS_DIR, `${result.section}.json`);
	writeFileSync(file, JSON.stringify({ ...result, machine, startedAt }, null, '\t') + '\n');
	return file;
}

export function writeSummary(results: SectionResult[], machine: MachineInfo, startedAt: string): string {
	const file = path.join(RESULTS_DIR, 'summary.json');
	// A partial run (--only) updates its sections and keeps the others' last results.
	const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { sections?: Record<string, unknown> }) : {};
	const sections: Record<string, unknown> = { ...(previous.sections ?? {}) };
	for (const r of results) {
		sections[r.section] = { method: r.method, rows: r.rows, notMeasured: r.notMeasured, machine, startedAt };
	}
	writeFileSync(file, JSON.stringify({ updatedAt: new Date().toISOString(), sections }, null, '\t') + '\n');
	return file;
}

/** A plain-text table for the terminal and for pasting into README as a code block. */
export function formatTable(results: SectionResult[]): string {
	const header = ['section', 'figure', 'measured', 'baseline', 'ratio'];
	const lines: string[][] = [header];
	for (const r of results) {
		for (const row of r.rows) {
			lines.push([r.section, row.figure, row.value, row.baseline, row.ratio === null ? '-' : `${row.ratio}x`]);
		}
	}
	const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
	const fmt = (l: string[]) => l.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
	const out = [fmt(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)];
	const missing = results.flatMap((r) => r.notMeasured.map((m) => `${r.section}: not measured: ${m}`));
	return [...out, ...missing].join('\n');
}
