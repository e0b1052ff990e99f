/**
 * Crash points for the crash-recovery tests: QFLARE_FAILPOINT=<name>[:<n>] makes the process
 * SIGKILL itself the n-th time (default 1st) the named point is reached, the way a power cut or
 * the OOM killer would stop it: no finally blocks, no flushed buffers. Read once at start-up;
 * without the variable every point is a comparison against null.
 */
export const FAILPOINT_NAMES = ['update-durable', 'model-saved', 'round-committed'] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

export interface FailpointSpec {
	name: FailpointName;
	/** Fires on this hit, counted from 1. */
	hit: number;
}

/** Null when unset or empty; throws on a name or count it does not know, so a typo in a test fails loudly. */
export function parseFailpoint(value: string | undefined): FailpointSpec | null {
	const text = (value ?? '').trim();
	if (text === '') return null;
	const match = /^([a-z-]+)(?::(\d+))?$/.exec(text);
	if (!match) throw new Error(`QFLARE_FAILPOINT=${JSON.stringify(text)}: expected <name>[:<n>]`);
	const name = FAILPOINT_NAMES.find((n) => n === match[1]);
	if (!name) throw new Error(`QFLARE_FAILPOINT: unknown point ${match[1]}; points: ${FAILPOINT_NAMES.join(', ')}`);
	const hit = match[2] === undefined ? 1 : Number(match[2]);
	if (!Number.isSafeInteger(hit) || hit < 1) throw new Error(`QFLARE_FAILPOINT: the count must be 1 or more, got ${match[2]}`);
	return { name, hit };
}

const armed = parseFailpoint(process.env.QFLARE_FAILPOINT);
let hits = 0;

/** Kills this process with SIGKILL on the armed hit of the armed point; otherwise returns at once. */
export function failpoint(name: FailpointName): void {
	if (armed === null || armed.name !== name) return;
	hits++;
	if (hits !== armed.hit) return;
	process.stderr.write(`[qflare] failpoint ${name}:${hits} reached: SIGKILL\n`);
	process.kill(process.pid, 'SIGKILL');
}
