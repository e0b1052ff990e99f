import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import { lanOrigins, startQflareServer } from './server';
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

const store = await openServerStore({ mongodbUri, dataDir });
const publicUrl = process.env.PUBLIC_URL ? process.env.PUBLIC_URL.replace(/\/+$/, '') : null;
const publicOrigins = publicUrl ? [publicUrl] : lanOrigins(port);
const server = await startQflareServer({ store, port, appHandler: handler, publicOrigins });
console.log(`[qflare] listening on ${server.url} (store: ${store.backend}${store.backend === 'embedded' ? ` in ${dataDir}` : ''})`);
console.log(`[qflare] dashboard: ${server.url}/admin`);
if (publicOrigins.length) console.log(`[qflare] phones join at: ${publicOrigins.join(', ')}`);
logSetupLink(publicUrl ?? server.url, server.setupToken);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		console.log(`[qflare] ${signal}: closing`);
		void server
			.close()
			.then(() => store.close())
			.finally(() => process.exit(0));
	});
}
