import { IndexedDbIdentityStore } from './identity-store';
import { IndexedDbShardCache, fetchShard } from './shard-cache';
import { ParticipantSession, SocketIoParticipantSocket } from '@qflare/participant';
import { WorkerTrainer } from './worker-trainer';

export interface BrowserSession {
	session: ParticipantSession;
	close(): void;
}

/** Wires ParticipantSession to this tab: socket.io, IndexedDB and the trainer worker. */
export function createBrowserSession(projectId: string): BrowserSession {
	const trainer = new WorkerTrainer();
	const session = new ParticipantSession({
		projectId,
		socket: new SocketIoParticipantSocket(location.origin),
		identity: new IndexedDbIdentityStore(),
		shards: new IndexedDbShardCache(),
		fetchShard,
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
