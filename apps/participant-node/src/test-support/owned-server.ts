import { rmSync } from 'node:fs';
import path from 'node:path';
import { openStore } from '@qflare/store';
import { startQflareServer } from '@qflare/server';
import type { NodeParticipant } from '../participant';
import { bootstrapOwner, type OwnerApi } from './owner-api';

/** A Qflare server for participant tests, set up with an owner who makes the projects and join links. */
export interface OwnedServer {
	readonly url: string;
	/** Folder of the embedded store, for tests that read what the server keeps. */
	readonly dataDir: string;
	readonly owner: OwnerApi;
	/** Participants the test started; close stops them first, so none reconnects to a closed server. */
	readonly participants: NodeParticipant[];
	/** Stops the participants and the server, closes the store and removes `root`. */
	close(): Promise<void>;
}

/** Starts a server on a free port over a fresh embedded store in `root`/server. */
export async function startOwnedServer(root: string): Promise<OwnedServer> {
	const dataDir = path.join(root, 'server');
	const store = await openStore({ dataDir });
	const server = await startQflareServer({ store, port: 0, appHandler: null, log: () => undefined });
	const owner = await bootstrapOwner(() => server.url, server.setupToken);
	const participants: NodeParticipant[] = [];
	return {
		url: server.url,
		dataDir,
		owner,
		participants,
		async close() {
			for (const p of participants) p.stop();
			await server.close();
			await store.close();
			rmSync(root, { recursive: true, force: true });
		}
	};
}
