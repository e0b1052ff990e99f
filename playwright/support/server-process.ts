import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from '@playwright/test';
import { SESSION_COOKIE, type SetupState } from '@qflare/protocol';
import { ApiClient } from './api-client';
import { E2E_OWNER, setupLinkIn, setupOwner, setupTokenOf, signInOwner, type OwnerAccount, type ServerCredentials } from './bootstrap';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Registrations per address per minute: simulations register dozens of devices from one address. */
const JOIN_RATE_LIMIT = '100000';

export { freePort } from '../../apps/server/src/test-support/free-port';

export function freshDataDir(): string {
	return mkdtempSync(path.join(tmpdir(), 'qflare-e2e-'));
}

export interface StartOptions {
	/**
	 * Set up the first owner (from the printed setup link) and keep an admin API key, or reuse the
	 * key from an earlier start on this data directory (default true). Tests of the setup flow itself
	 * pass false and use `setupUrl`.
	 */
	bootstrap?: boolean;
	/**
	 * Extra environment of this start only, e.g. QFLARE_FAILPOINT for the crash tests. It is applied
	 * last, so it may also set MONGODB_URI (default '': the embedded store) and REDIS_URL (cluster mode).
	 */
	env?: Record<string, string>;
}

/** How a server process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
	code: number | null;
	signal: NodeJS.Signals | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The production server (built SvelteKit app + API + sockets) as a child process, the way
 * `npm start` runs it, on a given port and data directory.
 */
export class ServerProcess {
	#child: ChildProcess | null = null;
	#exit: Promise<ProcessExit> | null = null;
	#setupUrl: string | null = null;
	#credentials: ServerCredentials | null = null;
	readonly output: string[] = [];

	constructor(
		readonly port: number,
		readonly dataDir: string,
		readonly owner: OwnerAccount = E2E_OWNER
	) {}

	get url(): string {
		return `http://localhost:${this.port}`;
	}

	/** The first-run setup link the last start printed, on this.url (it may print a LAN origin); null once an owner exists. */
	get setupUrl(): string | null {
		return this.#setupUrl;
	}

	/** The owner's admin API key, organisation and session; start() (or bootstrap()) makes them. */
	get credentials(): ServerCredentials {
		if (!this.#credentials) throw new Error('the server was not bootstrapped: start() it, or call bootstrap()');
		return this.#credentials;
	}

	/** A REST client acting as the owner through its admin API key. */
	api(): ApiClient {
		return new ApiClient(this.url, this.credentials);
	}

	/** Puts the owner's session cookie into a browser context, so its pages open the dashboard signed in. */
	async signIn(context: BrowserContext): Promise<void> {
		await context.addCookies([{ name: SESSION_COOKIE, value: this.credentials.sessionToken, url: this.url, httpOnly: true, sameSite: 'Lax' }]);
	}

	async start(options: StartOptions = {}): Promise<void> {
		const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
			cwd: ROOT,
			env: {
				...process.env,
				PORT: String(this.port),
				DATA_DIR: this.dataDir,
				MONGODB_URI: '',
				QFLARE_JOIN_RATE_LIMIT: process.env.QFLARE_JOIN_RATE_LIMIT ?? JOIN_RATE_LIMIT,
				QFLARE_FAILPOINT: '',
				...options.env
			},
			stdio: ['ignore', 'pipe', 'pipe']
		});
		this.#child = child;
		this.#exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
		this.#setupUrl = null;
		const collect = (chunk: Buffer) => {
			for (const line of chunk.toString().split('\n')) {
				if (!line.trim()) continue;
				this.output.push(line);
				const link = setupLinkIn(line);
				if (link) {
					const printed = new URL(link);
					this.#setupUrl = `${this.url}${printed.pathname}${printed.search}`;
				}
			}
		};
		child.stdout?.on('data', collect);
		child.stderr?.on('data', collect);
		const deadline = Date.now() + 60_000;
		for (;;) {
			if (child.exitCode !== null || child.signalCode !== null) {
				throw new Error(`server exited with ${child.exitCode ?? child.signalCode}:\n${this.output.join('\n')}`);
			}
			if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${this.output.join('\n')}`);
			try {
				const res = await fetch(`${this.url}/health`);
				if (res.ok) break;
			} catch {
				// not listening yet
			}
			await sleep(250);
		}
		// The setup link is printed around the time the server starts listening: wait for it while setup is needed.
		const setup = (await (await fetch(`${this.url}/api/v1/auth/setup`)).json()) as SetupState;
		while (setup.needed && this.#setupUrl === null) {
			if (Date.now() > deadline) throw new Error(`setup is needed but no setup link was printed:\n${this.output.join('\n')}`);
			await sleep(100);
		}
		if (options.bootstrap ?? true) await this.bootstrap();
	}

	/**
	 * Makes the owner and an admin API key on a fresh data directory (with the printed setup token);
	 * keeps the key from an earlier start of this instance; signs the owner in again on a data
	 * directory another process set up.
	 */
	async bootstrap(): Promise<ServerCredentials> {
		if (this.#credentials) return this.#credentials;
		this.#credentials = this.#setupUrl
			? await setupOwner(this.url, setupTokenOf(this.#setupUrl), this.owner)
			: await signInOwner(this.url, this.owner);
		return this.#credentials;
	}

	/**
	 * Resolves when the process started last ends by itself (a failpoint's SIGKILL, a crash);
	 * start() may then run it again on the same data directory, keeping the owner's credentials.
	 */
	async waitForExit(timeoutMs = 5 * 60_000): Promise<ProcessExit> {
		const exit = this.#exit;
		if (!exit) throw new Error('the server was never started');
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`the server did not exit within ${timeoutMs} ms:\n${this.output.slice(-40).join('\n')}`)), timeoutMs);
		});
		try {
			return await Promise.race([exit, timeout]);
		} finally {
			clearTimeout(timer);
			this.#child = null;
		}
	}

	/** Whether the process started last is still running. */
	get running(): boolean {
		const child = this.#child;
		return child !== null && child.exitCode === null && child.signalCode === null;
	}

	/** SIGKILLs the process started last (no clean-up, as a crashed machine) and resolves once it is gone. */
	async kill(): Promise<ProcessExit> {
		const child = this.#child;
		const exit = this.#exit;
		if (!child || !exit) throw new Error('the server was never started');
		if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		try {
			return await exit;
		} finally {
			this.#child = null;
		}
	}

	async stop(): Promise<void> {
		const child = this.#child;
		// A child killed by a signal has exitCode null and signalCode set: it is gone too.
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
		await exited;
		clearTimeout(timer);
		this.#child = null;
	}
}
