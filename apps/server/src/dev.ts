import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@qflare/store';
import { createServer as createViteServer } from 'vite';
import { heldBy, removePidFile, writePidFile } from './auth/pid-file';
import { lanOrigins, startQflareServer } from './server';

/**
 * `npm run dev`: the SvelteKit app from Vite's dev server (hot reload) on PORT, with the API and
 * Socket.IO of a normal Qflare server on PORT + 1 behind Vite's proxy, so the browser still
 * sees one origin.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(process.env.PORT ?? 5173);
const apiPort = Number(process.env.API_PORT ?? port + 1);
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
const mongodbUri = process.env.MONGODB_URI || undefined;
const holder = mongodbUri ? null : heldBy(dataDir);
if (holder !== null && holder !== process.pid) {
	console.error(`[qflare] another process (pid ${holder}) holds the store in ${dataDir}; stop it first.`);
	process.exit(1);
}
const store = await openStore({ mongodbUri, dataDir });
if (store.backend === 'embedded') {
	writePidFile(dataDir);
	process.on('exit', () => removePidFile(dataDir));
}
const api = await startQflareServer({ store, port: apiPort, host: '127.0.0.1', appHandler: null, publicOrigins: lanOrigins(port) });

const target = `http://127.0.0.1:${apiPort}`;
const vite = await createViteServer({
	root,
	server: {
		port,
		strictPort: true,
		host: true,
		proxy: {
			'/api': target,
			'/health': target,
			'/metrics': target,
			'/socket.io': { target, ws: true }
		}
	}
});
await vite.listen();
vite.printUrls();
console.log(`[qflare] dev: API and sockets on ${target} behind the proxy (store: ${store.backend})`);
if (api.setupToken) console.log(`[qflare] first run: open http://localhost:${port}/setup?token=${api.setupToken} to create the owner account`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.once(signal, () => {
		void Promise.all([vite.close(), api.close()])
			.then(() => store.close())
			.finally(() => process.exit(0));
	});
}
