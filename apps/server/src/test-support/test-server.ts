import type { Store } from '@qflare/store';
import { startQflareServer, type QflareServer } from '../server';
import { openTempStore } from './temp-store';

export interface ApiReply<T> {
	status: number;
	json: T;
}

/** A Qflare server on a free port over its own embedded store, for tests over real sockets and HTTP. */
export interface TestServer {
	readonly url: string;
	readonly server: QflareServer;
	readonly store: Store;
	/** What the server logged, for a failing test to show. */
	readonly logs: string[];
	/** A JSON request to /api/v1: the status and the parsed body, whatever the status. */
	api<T>(method: string, apiPath: string, body?: unknown): Promise<ApiReply<T>>;
	/** Stops the server, closes the store and removes its folder. */
	close(): Promise<void>;
}

/**
 * Starts a server with a short drop-out grace (300 ms) over a fresh store in a temporary folder
 * named after `name`.
 */
export async function startTestServer(name: string): Promise<TestServer> {
	const logs: string[] = [];
	const temp = await openTempStore(name);
	let server: QflareServer;
	try {
		server = await startQflareServer({ store: temp.store, port: 0, appHandler: null, log: (m) => logs.push(m), dropoutGraceMs: 300 });
	} catch (error) {
		await temp.close();
		throw error;
	}
	return {
		url: server.url,
		server,
		store: temp.store,
		logs,
		async api<T>(method: string, apiPath: string, body?: unknown): Promise<ApiReply<T>> {
			const res = await fetch(`${server.url}/api/v1${apiPath}`, {
				method,
				headers: { 'content-type': 'application/json' },
				body: body === undefined ? undefined : JSON.stringify(body)
			});
			return { status: res.status, json: (await res.json()) as T };
		},
		async close() {
			await server.close();
			await temp.close();
		}
	};
}
