import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createViteServer } from 'vite';
import { lanOrigins, startQflareServer } from './server';
import { logSetupLink, openServerStore } from './start-up';

/**
 * `npm run dev`: the SvelteKit app from Vite's dev server (hot reload) on PORT, with the API and
 * Socket.IO of a normal Qflare server on PORT + 1 behind Vite's proxy, so the browser still
 * sees one origin.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(process.env.PORT ?? 5173);
const apiPort = Number(process.env.API_PORT ?? port + 1);
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
const store = await openServerStore({ mongodbUri: process.env.MONGODB_URI || undefined, dataDir });
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
logSetupLink(`http://localhost:${port}`, api.setupToken);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.once(signal, () => {
		void Promise.all([vite.close(), api.close()])
			.then(() => store.close())
			.finally(() => process.exit(0));
	});
}
