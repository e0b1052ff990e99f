import {
	DemoDataProvider,
	LocalDataProvider,
	ParticipantSession,
	ProjectDataProvider,
	SocketIoParticipantSocket
} from '@qflare/participant';
import { IndexedDbIdentityStore } from './identity-store';
import { loadDataset } from './local-db';
import { IndexedDbShardCache, fetchShard } from './shard-cache';
import { WorkerTrainer } from './worker-trainer';

export interface BrowserSession {
	session: ParticipantSession;
	close(): void;
}

/**
 * Wires ParticipantSession to this tab: socket.io, IndexedDB (identity, demo shards, imported
 * data) and the trainer worker. `joinToken` registers a device the server does not know yet.
 */
export function createBrowserSession(projectId: string, joinToken: string | null): BrowserSession {
	const trainer = new WorkerTrainer();
	const session = new ParticipantSession({
		projectId,
		socket: new SocketIoParticipantSocket(location.origin),
		identity: new IndexedDbIdentityStore(),
		joinToken,
		data: new ProjectDataProvider({
			demo: new DemoDataProvider(new IndexedDbShardCache(), fetchShard),
			local: new LocalDataProvider(
				{ load: async (id) => (await loadDataset(id))?.prepared ?? null },
				'data imported on this device'
			)
		}),
		trainer,
		kind: 'browser',
		userAgent: navigator.userAgent
	});
	return {
		session,
		close() {
			session.stop();
			trainer.dispose();
		}
	};
}
