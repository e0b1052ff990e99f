import os from 'node:os';
import { createRequire } from 'node:module';

/** Median with the spread around it; every reported figure is one of these. */
export interface Summary {
	median: number;
	min: number;
	max: number;
	p25: number;
	p75: number;
	n: number;
}

function quantile(sorted: number[], q: number): number {
	if (sorted.length === 1) return sorted[0];
	const pos = (sorted.length - 1) * q;
	const lo = Math.floor(pos);
	const hi = Math.ceil(pos);
	return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
	if (samples.length === 0) throw new Error('no samples to summarize');
	const s = [...samples].sort((a, b) => a - b);
	const r = (x: number) => Math.round(x * 1000) / 1000;
	return { median: r(quantile(s, 0.5)), min: r(s[0]), max: r(s[s.length - 1]), p25: r(quantile(s, 0.25)), p75: r(quantile(s, 0.75)), n: s.length };
}

/** measured / baseline on the medians, so "2.0" reads "twice the baseline's cost". */
export function ratio(measured: Summary, baseline: Summary): number {
	return Math.round((measured.median / baseline.median) * 100) / 100;
}

export function nowMs(): number {
	return performance.now();
}

/** Runs fn `trials` times after `warmup` untimed runs; ms per call. */
export async function timeTrials(trials: number, fn: () => unknown, warmup = 1): Promise<number[]> {
	for (let i = 0; i < warmup; i++) await fn();
	const out: number[] = [];
	for (let i = 0; i < trials; i++) {
		const t = performance.now();
		await fn();
		out.push(performance.now() - t);
	}
	return out;
}

export function bufferutilStatus(): { present: boolean; path: string | null } {
	try {
		const require = createRequire(import.meta.url);
		const path = require.resolve('bufferutil');
		// Resolving is not loading: ws only gains from it when the native binding loads.
		require('bufferutil');
		return { present: true, path };
	} catch {
		return { present: false, path: null };
	}
}

export interface MachineInfo {
	node: string;
	platform: string;
	arch: string;
	cpus: number;
	cpuModel: string;
	totalMemGiB: number;
	loadavg: number[];
	note: string;
}

export function machineInfo(): MachineInfo {
	const cpus = os.cpus();
	return {
		node: process.version,
		platform: os.platform(),
		arch: os.arch(),
		cpus: cpus.length,
		cpuModel: cpus[0]?.model ?? 'unknown',
		totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
		// A shared build machine: the load average at the start says how much else was running.
		loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
		note: 'measured on a shared 2-core build machine unless stated otherwise; other engineers ran builds and tests at the same time'
	};
}

export function mb(bytes: number): number {
	return bytes / 1e6;
}
