import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import { createJsonLogger, pinoLog } from './logging';
import { defaultInstanceId, lanOrigins, startQflareServer } from './server';
import { logSetupLink, openServerStore } from './start-up';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(process.env.PORT ?? 3000);
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
const mongodbUri = process.env.MONGODB_URI || undefined;

const handlerPath = path.join(root, 'build', 'handler.js');
if (!existsSync(handlerPath)) {
	console.error(`[qflare] ${handlerPath} is missing: run "npm run build" (npm start does it for you).`);
	process.exit(1);
}
const { handler } = (await import(pathToFileURL(handlerPath).href)) as { handler: RequestHandler };

// One JSON line per event (pino), each with this instance's id, for a log collector.
const instanceId = process.env.QFLARE_INSTANCE_ID?.trim() || defaultInstanceId(port);
const logger = createJsonLogger(instanceId);
const log = pinoLog(logger);

const store = await openServerStore({ mongodbUri, dataDir });
const publicUrl = process.env.PUBLIC_URL ? process.env.PUBLIC_URL.replace(/\/+$/, '') : null;
const publicOrigins = publicUrl ? [publicUrl] : lanOrigins(port);
const redisUrl = process.env.REDIS_URL?.trim() || null;
if (redisUrl && !mongodbUri) {
	console.error('[qflare] REDIS_URL is set but MONGODB_URI is not: several instances must share one MongoDB (the embedded store belongs to one process).');
	process.exit(1);
}
const server = await startQflareServer({
	store,
	port,
	appHandler: handler,
	publicOrigins,
	log,
	instanceId,
	redisUrl,
	leaseMs: positiveIntegerEnv('QFLARE_LEASE_MS'),
	dropoutGraceMs: positiveIntegerEnv('QFLARE_DROPOUT_GRACE_MS')
});
log(`listening on ${server.url}`, { url: server.url, store: store.backend, dataDir: store.backend === 'embedded' ? dataDir : null, cluster: redisUrl !== null });
log(`dashboard: ${server.url}/admin`);
if (publicOrigins.length) log(`phones join at: ${publicOrigins.join(', ')}`);
logSetupLink(publicUrl ?? server.url, server.setupToken, log);

/** A positive integer from the environment, undefined when unset; a bad value stops the start with a clear message. */
function positiveIntegerEnv(name: string): number | undefined {
	const raw = process.env[name]?.trim();
	if (!raw) return undefined;
	const value = Number(raw);
	if (!Number.isSafeInteger(value) || value <= 0) {
		console.error(`[qflare] ${name} must be a positive integer (milliseconds), got ${JSON.stringify(raw)}`);
		process.exit(1);
	}
	return value;
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		log(`${signal}: closing`, { signal });
		void server
			.close()
			.then(() => store.close())
			.finally(() => process.exit(0));
	});
}
