// The real Qflare server in its own process, so the bench can read its peak RSS from /proc
// without counting the clients. Sets up the first owner and an admin API key, then prints one
// JSON line {url, pid, apiKey, organisationId}; SIGTERM closes it.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore } from '@qflare/store';
import { startQflareServer } from '../../apps/server/src/server';
import { setupOwner } from '../../playwright/support/bootstrap';
import type { RequestHandler } from 'express';

const withApp = process.argv.includes('--app');
const verbose = process.argv.includes('--verbose');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qflare-bench-'));
let appHandler: RequestHandler | null = null;
if (withApp) {
	const handlerPath = path.resolve(import.meta.dirname, '../../build/handler.js');
	if (!existsSync(handlerPath)) throw new Error(`${handlerPath} is missing: run npx vite build`);
	appHandler = ((await import(pathToFileURL(handlerPath).href)) as { handler: RequestHandler }).handler;
}
const store = await openStore({ dataDir });
const server = await startQflareServer({
	store,
	port: 0,
	host: '127.0.0.1',
	appHandler,
	publicOrigins: [],
	log: verbose ? (m) => console.error(`[server] ${m}`) : () => {}
});
const url = server.url.replace('localhost', '127.0.0.1');
if (!server.setupToken) throw new Error('a fresh data directory should need setup');
const { apiKey, organisationId } = await setupOwner(url, server.setupToken);
console.log(JSON.stringify({ url, pid: process.pid, apiKey, organisationId }));

process.on('SIGTERM', () => {
	void server
		.close()
		.then(() => store.close())
		.finally(() => {
			rmSync(dataDir, { recursive: true, force: true });
			process.exit(0);
		});
});
