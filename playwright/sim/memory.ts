import { readdirSync, readFileSync } from 'node:fs';

export type ProcessRole = 'runner' | 'server' | 'browsers' | 'nodeHosts' | 'other';

export interface MemoryPeak {
	/** Largest sum of PSS over this process tree seen in one sample, MiB. */
	totalMiB: number;
	/** Largest PSS per role seen in any sample (not necessarily the same sample), MiB. */
	byRoleMiB: Record<ProcessRole, number>;
	samples: number;
}

function readProc(pid: number, file: string): string | null {
	try {
		return readFileSync(`/proc/${pid}/${file}`, 'utf8');
	} catch {
		return null;
	}
}

/** Proportional set size: shared pages (Chromium's many processes) counted once, split evenly. */
function pssKiB(pid: number): number {
	const rollup = readProc(pid, 'smaps_rollup');
	const m = rollup?.match(/^Pss:\s+(\d+) kB/m);
	if (m) return Number(m[1]);
	const status = readProc(pid, 'status');
	const r = status?.match(/^VmRSS:\s+(\d+) kB/m);
	return r ? Number(r[1]) : 0;
}

function roleOf(pid: number): ProcessRole {
	if (pid === process.pid) return 'runner';
	const cmd = (readProc(pid, 'cmdline') ?? '').replace(/\0/g, ' ');
	if (cmd.includes('apps/server/src/main.ts')) return 'server';
	if (cmd.includes('node-host-main')) return 'nodeHosts';
	if (/chrom/i.test(cmd)) return 'browsers';
	return 'other';
}

/** This process and all its descendants, from /proc (Linux only). */
function processTree(): number[] {
	const parent = new Map<number, number>();
	for (const name of readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		const stat = readProc(Number(name), 'stat');
		// Field 4 is the ppid; the command name (field 2) may hold spaces, so split after its ')'.
		const after = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
		if (after) parent.set(Number(name), Number(after[1]));
	}
	const tree = [process.pid];
	for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
	return tree;
}

/** Samples the memory of the whole simulation (server, runner, Chromium, hosts) every few seconds. */
export class MemorySampler {
	readonly peak: MemoryPeak = {
		totalMiB: 0,
		byRoleMiB: { runner: 0, server: 0, browsers: 0, nodeHosts: 0, other: 0 },
		samples: 0
	};
	#timer: ReturnType<typeof setInterval> | null = null;

	start(intervalMs = 2_000): void {
		this.sample();
		this.#timer = setInterval(() => this.sample(), intervalMs);
		this.#timer.unref();
	}

	sample(): void {
		const byRole: Record<ProcessRole, number> = { runner: 0, server: 0, browsers: 0, nodeHosts: 0, other: 0 };
		for (const pid of processTree()) byRole[roleOf(pid)] += pssKiB(pid) / 1024;
		let total = 0;
		for (const role of Object.keys(byRole) as ProcessRole[]) {
			total += byRole[role];
			this.peak.byRoleMiB[role] = Math.max(this.peak.byRoleMiB[role], Math.round(byRole[role]));
		}
		this.peak.totalMiB = Math.max(this.peak.totalMiB, Math.round(total));
		this.peak.samples++;
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}
}
