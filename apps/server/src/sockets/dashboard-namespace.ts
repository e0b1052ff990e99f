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
import type { DashboardDisconnects } from '../http/deps';
import { originAllowed, requestOwnOrigin } from '../http/origin-check';
import type { Log } from '../logging';
import type { DashboardFeed } from '../rounds/ports';
import { safeHandler } from './safe-handler';

interface DashboardData {
	principal?: Principal;
}
type DashboardNsp = Namespace<DashboardClientEvents, DashboardServerEvents, Record<string, never>, DashboardData>;
type DashboardSocket = Socket<DashboardClientEvents, DashboardServerEvents, Record<string, never>, DashboardData>;

const room = (projectId: string) => `project:${projectId}`;
const sessionRoom = (sessionId: string) => `session:${sessionId}`;
const userRoom = (userId: string) => `user:${userId}`;
const apiKeyRoom = (apiKeyId: string) => `apiKey:${apiKeyId}`;

export interface DashboardOptions {
	/** Origins besides the server's own that a cookie-authenticated handshake may come from (as for the REST API). */
	publicOrigins: readonly string[];
	/** Behind a reverse proxy: the own origin from X-Forwarded-Host and -Proto. */
	trustProxy: boolean;
}

/**
 * Live project state for dashboards; a dashboard joins a project's room with 'watch'. Only
 * signed-in users (session cookie or API key in the handshake headers) connect, and each sees
 * only the projects of its own organisations. A cookie handshake from a foreign page is refused
 * (the REST API's Origin rule). Each socket is in the rooms of its session or API key and of its
 * user, so that signing out, a password change, a membership change or a revoked key drops it.
 */
export class DashboardNamespace implements DashboardFeed, DashboardDisconnects {
	readonly #nsp: DashboardNsp;
	/** Projects whose device list is due to be sent (see devicesChanged). */
	readonly #devicesDue = new Set<string>();
	/** Per round still running: the status last sent, and a newer state of the same status waiting to go. */
	readonly #roundsSent = new Map<string, { status: Round['status']; due: Round | null }>();

	constructor(
		io: Server,
		private readonly store: Store,
		private readonly log: Log,
		private readonly authenticator: Authenticator,
		options: DashboardOptions
	) {
		const allowedOrigins = new Set(options.publicOrigins);
		this.#nsp = io.of(DASHBOARD_NAMESPACE) as unknown as DashboardNsp;
		this.#nsp.use((socket, next) => {
			authenticator.fromHeaders(socket.request.headers).then(
				(principal) => {
					if (!principal) return next(new Error(ErrorCode.Unauthenticated));
					// A browser sends the cookie on a cross-site websocket too: only its own pages may use it.
					if (principal.via === 'session' && !originAllowed(socket.request.headers.origin, requestOwnOrigin(socket.request, options.trustProxy), allowedOrigins)) {
						return next(new Error(ErrorCode.Forbidden));
					}
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
			const principal = socket.data.principal;
			if (principal) void socket.join(credentialRooms(principal));
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

	/** Drops the dashboards of a session (logout). */
	disconnectSession(sessionId: string): void {
		this.#nsp.in(sessionRoom(sessionId)).disconnectSockets();
	}

	/**
	 * Drops every dashboard of a user, by session or API key, but those of `exceptSession` (a
	 * password change keeps the session that made it). They may reconnect: the handshake checks
	 * their credentials again, and watch checks their organisations again.
	 */
	disconnectUser(userId: string, options: { exceptSession?: string | null } = {}): void {
		const sockets = this.#nsp.in(userRoom(userId));
		(options.exceptSession ? sockets.except(sessionRoom(options.exceptSession)) : sockets).disconnectSockets();
	}

	/** Drops the dashboards connected with an API key (revoked). */
	disconnectApiKey(apiKeyId: string): void {
		this.#nsp.in(apiKeyRoom(apiKeyId)).disconnectSockets();
	}

	project(p: Project): void {
		this.#nsp.to(room(p.id)).emit('project', p);
	}

	/**
	 * A round's state to its dashboards: a change of status at once, the counts that change with
	 * every accepted update (and carry the round's device lists) at most once per
	 * DEVICE_LIST_DELAY_MS, the newest state winning.
	 */
	round(r: Round): void {
		const last = this.#roundsSent.get(r.id);
		if (last?.status === r.status) {
			// Only counts changed: the newest state goes out when the delay ends.
			const scheduled = last.due !== null;
			last.due = r;
			if (scheduled) return;
			setTimeout(() => {
				if (this.#roundsSent.get(r.id) !== last || !last.due) return;
				this.#nsp.to(room(r.projectId)).emit('round', last.due);
				last.due = null;
			}, DEVICE_LIST_DELAY_MS);
			return;
		}
		// A new status goes out at once and supersedes a state still waiting; ended rounds do not change again.
		if (r.status === 'committed' || r.status === 'failed') this.#roundsSent.delete(r.id);
		else this.#roundsSent.set(r.id, { status: r.status, due: null });
		this.#nsp.to(room(r.projectId)).emit('round', r);
	}

	model(m: ModelRecord): void {
		this.#nsp.to(room(m.projectId)).emit('model', m);
	}

	progress(projectId: string, p: DeviceProgress): void {
		this.#nsp.to(room(projectId)).volatile.emit('progress', p);
	}

	/**
	 * Sends the project's device list to its dashboards, at most once per DEVICE_LIST_DELAY_MS:
	 * each login or status report changes it, and a list per change made N logins cost O(N^2)
	 * store reads and bytes. Changes after the list was read schedule the next one.
	 */
	devicesChanged(projectId: string): void {
		if (this.#devicesDue.has(projectId)) return;
		this.#devicesDue.add(projectId);
		setTimeout(() => {
			this.#devicesDue.delete(projectId);
			this.store.devices.listByProject(projectId).then(
				(devices) => this.#nsp.to(room(projectId)).emit('devices', devices),
				(e: unknown) => this.log(`could not send the devices of ${projectId} to dashboards: ${String(e)}`, { projectId })
			);
		}, DEVICE_LIST_DELAY_MS);
	}
}

/** How long device-list changes are gathered before dashboards get the list. */
export const DEVICE_LIST_DELAY_MS = 200;

/** The rooms a dashboard socket is in for its credentials (see the disconnect methods). */
function credentialRooms(principal: Principal): string[] {
	return [
		userRoom(principal.user.id),
		...(principal.sessionId ? [sessionRoom(principal.sessionId)] : []),
		...(principal.apiKey ? [apiKeyRoom(principal.apiKey.id)] : [])
	];
}
