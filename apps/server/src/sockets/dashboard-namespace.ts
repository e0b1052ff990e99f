import {
	DASHBOARD_NAMESPACE,
	ErrorCode,
	ProtocolError,
	WatchRequest,
	type DashboardClientEvents,
	type DashboardServerEvents,
	type DeviceProgress,
	type ModelRecord,
	type Project,
	type Round
} from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { Namespace, Server, Socket } from 'socket.io';
import { roleIn, type Authenticator, type Principal } from '../auth/principal';
import type { DashboardFeed } from '../rounds/ports';
import { safeHandler } from './safe-handler';

interface DashboardData {
	principal?: Principal;
}
type DashboardNsp = Namespace<DashboardClientEvents, DashboardServerEvents, Record<string, never>, DashboardData>;
type DashboardSocket = Socket<DashboardClientEvents, DashboardServerEvents, Record<string, never>, DashboardData>;

const room = (projectId: string) => `project:${projectId}`;

/**
 * Live project state for dashboards; a dashboard joins a project's room with 'watch'. Only
 * signed-in users (session cookie or API key in the handshake headers) connect, and each sees
 * only the projects of its own organisations.
 */
export class DashboardNamespace implements DashboardFeed {
	readonly #nsp: DashboardNsp;

	constructor(
		io: Server,
		private readonly store: Store,
		log: (message: string) => void,
		private readonly authenticator: Authenticator
	) {
		this.#nsp = io.of(DASHBOARD_NAMESPACE) as unknown as DashboardNsp;
		this.#nsp.use((socket, next) => {
			authenticator.fromHeaders(socket.request.headers).then(
				(principal) => {
					if (!principal) return next(new Error(ErrorCode.Unauthenticated));
					socket.data.principal = principal;
					next();
				},
				(e: unknown) => {
					log(`dashboard handshake failed: ${String(e)}`);
					next(new Error(ErrorCode.Unauthenticated));
				}
			);
		});
		this.#nsp.on('connection', (socket) => {
			socket.on(
				'watch',
				safeHandler(log, async (payload) => {
					const { projectId } = WatchRequest.parse(payload);
					const principal = await this.#principal(socket);
					const project = await store.projects.get(projectId);
					// Another organisation's project reads as missing, so ids cannot be probed.
					if (!project || roleIn(principal, project.organisationId) === null) {
						throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
					}
					await socket.join(room(projectId));
					socket.emit('project', project);
					socket.emit('devices', await store.devices.listByProject(projectId));
					for (const r of await store.rounds.listByProject(projectId)) socket.emit('round', r);
					return { ok: true as const };
				})
			);
		});
	}

	/**
	 * The caller as of now: a session that was logged out or a key revoked since the handshake
	 * watches nothing more: it leaves the rooms it was in.
	 */
	async #principal(socket: DashboardSocket): Promise<Principal> {
		const principal = await this.authenticator.fromHeaders(socket.request.headers);
		if (!principal) {
			for (const r of socket.rooms) if (r.startsWith('project:')) await socket.leave(r);
			throw new ProtocolError(ErrorCode.Unauthenticated, 'sign in again');
		}
		socket.data.principal = principal;
		return principal;
	}

	project(p: Project): void {
		this.#nsp.to(room(p.id)).emit('project', p);
	}

	round(r: Round): void {
		this.#nsp.to(room(r.projectId)).emit('round', r);
	}

	model(m: ModelRecord): void {
		this.#nsp.to(room(m.projectId)).emit('model', m);
	}

	progress(projectId: string, p: DeviceProgress): void {
		this.#nsp.to(room(projectId)).volatile.emit('progress', p);
	}

	async devicesChanged(projectId: string): Promise<void> {
		this.#nsp.to(room(projectId)).emit('devices', await this.store.devices.listByProject(projectId));
	}
}
