import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { peakRssMb, currentRssMb } from './proc';

export interface ChildServer {
	url: string;
	pid: number;
	/** qflare-server.ts: the owner's admin API key and organisation; null for servers without accounts. */
	auth: { apiKey: string; organisationId: string } | null;
	peakRssMb(): number | null;
	rssMb(): number | null;
	stop(): Promise<void>;
}

/** The JSON line a bench server prints once listening. */
interface FirstLine {
	url: string;
	pid: number;
	apiKey?: string;
	organisationId?: string;
}

/**
 * Starts bench/servers/<script> under plain node with tsx as a loader (not the tsx CLI, which
 * would put a wrapper process between us and the server and hide its RSS).
 */
export async function startChildServer(script: string, args: string[] = [], timeoutMs = 60_000): Promise<ChildServer> {
	const file = path.join(import.meta.dirname, '..', 'servers', script);
	const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
		cwd: path.join(import.meta.dirname, '..', '..'),
		stdio: ['ignore', 'pipe', 'inherit'],
		// Hundreds of bench clients register from one address within a minute.
		env: { ...process.env, QFLARE_JOIN_RATE_LIMIT: process.env.QFLARE_JOIN_RATE_LIMIT ?? '100000' }
	});
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const first = await new Promise<FirstLine>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${script} did not start in ${timeoutMs} ms`)), timeoutMs);
		child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
		createInterface({ input: child.stdout! }).once('line', (line) => {
			clearTimeout(timer);
			try {
				resolve(JSON.parse(line) as FirstLine);
			} catch {
				reject(new Error(`${script} printed ${line}`));
			}
		});
	});
	return {
		url: first.url,
		pid: first.pid,
		auth: first.apiKey && first.organisationId ? { apiKey: first.apiKey, organisationId: first.organisationId } : null,
		peakRssMb: () => peakRssMb(first.pid),
		rssMb: () => currentRssMb(first.pid),
		async stop() {
			if (child.exitCode !== null) return;
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(timer);
		}
	};
}
