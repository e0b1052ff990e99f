import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore } from '@qflare/store';
import type { RequestHandler } from 'express';
import { heldBy, removePidFile, writePidFile } from './auth/pid-file';
import { lanOrigins, startQflareServer } from './server';

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

if (!mongodbUri) {
	const holder = heldBy(dataDir);
	if (holder !== null && holder !== process.pid) {
		console.error(`[qflare] another process (pid ${holder}) holds the store in ${dataDir}; stop it first.`);
		process.exit(1);
	}
}
const store = await openStore({ mongodbUri, dataDir });
if (store.backend === 'embedded') {
	// reset-admin refuses while this file names a live process: the embedded store has one writer.
	writePidFile(dataDir);
	process.on('exit', () => removePidFile(dataDir));
}
const publicUrl = process.env.PUBLIC_URL ? process.env.PUBLIC_URL.replace(/\/+$/, '') : null;
const publicOrigins = publicUrl ? [publicUrl] : lanOrigins(port);
const server = await startQflareServer({ store, port, appHandler: handler, publicOrigins });
console.log(`[qflare] listening on ${server.url} (store: ${store.backend}${store.backend === 'embedded' ? ` in ${dataDir}` : ''})`);
console.log(`[qflare] dashboard: ${server.url}/admin`);
if (publicOrigins.length) console.log(`[qflare] phones join at: ${publicOrigins.join(', ')}`);
if (server.setupToken) {
	// The one line where a secret is printed, by design: whoever reads the console creates the owner.
	console.log(`[qflare] first run: open ${publicUrl ?? server.url}/setup?token=${server.setupToken} to create the owner account`);
}

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
