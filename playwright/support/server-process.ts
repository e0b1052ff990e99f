import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.once('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address() as { port: number };
			srv.close(() => resolve(port));
		});
	});
}

export function freshDataDir(): string {
	return mkdtempSync(path.join(tmpdir(), 'qflare-e2e-'));
}

/**
 * The production server (built SvelteKit app + API + sockets) as a child process, the way
 * `npm start` runs it, on a given port and data directory.
 */
export class ServerProcess {
	#child: ChildProcess | null = null;
	readonly output: string[] = [];

	constructor(
		readonly port: number,
		readonly dataDir: string
	) {}

	get url(): string {
		return `http://localhost:${this.port}`;
	}

	async start(): Promise<void> {
		const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
			cwd: ROOT,
			env: { ...process.env, PORT: String(this.port), DATA_DIR: this.dataDir, MONGODB_URI: '' },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		this.#child = child;
		const collect = (chunk: Buffer) => {
			for (const line of chunk.toString().split('\n')) if (line.trim()) this.output.push(line);
		};
		child.stdout?.on('data', collect);
		child.stderr?.on('data', collect);
		const deadline = Date.now() + 60_000;
		while (Date.now() < deadline) {
			if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${this.output.join('\n')}`);
			try {
				const res = await fetch(`${this.url}/health`);
				if (res.ok) return;
			} catch {
				// not listening yet
			}
			await new Promise((r) => setTimeout(r, 250));
		}
		throw new Error(`server did not become healthy:\n${this.output.join('\n')}`);
	}

	async stop(): Promise<void> {
		const child = this.#child;
		if (!child || child.exitCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
		await exited;
		clearTimeout(timer);
		this.#child = null;
	}
}
