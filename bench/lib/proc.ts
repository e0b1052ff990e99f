import { readFileSync } from 'node:fs';

/** Peak resident set (VmHWM) of a process in MB, from /proc; null where /proc is absent. */
export function peakRssMb(pid: number): number | null {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const m = /VmHWM:\s+(\d+) kB/.exec(status);
		return m ? Math.round(Number(m[1]) / 1024) : null;
	} catch {
		return null;
	}
}

export function currentRssMb(pid: number): number | null {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const m = /VmRSS:\s+(\d+) kB/.exec(status);
		return m ? Math.round(Number(m[1]) / 1024) : null;
	} catch {
		return null;
	}
}
