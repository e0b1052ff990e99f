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
import type { Namespace, Server } from 'socket.io';
import type { DashboardFeed } from '../rounds/ports';
import { safeHandler } from './safe-handler';

const room = (projectId: string) => `project:${projectId}`;

/** Live project state for dashboards; a dashboard joins a project's room with 'watch'. */
export class DashboardNamespace implements DashboardFeed {
	readonly #nsp: Namespace<DashboardClientEvents, DashboardServerEvents>;

	constructor(
		io: Server,
		private readonly store: Store,
		log: (message: string) => void
	) {
		this.#nsp = io.of(DASHBOARD_NAMESPACE) as unknown as Namespace<DashboardClientEvents, DashboardServerEvents>;
		this.#nsp.on('connection', (socket) => {
			socket.on(
				'watch',
				safeHandler(log, async (payload) => {
					const { projectId } = WatchRequest.parse(payload);
					const project = await store.projects.get(projectId);
					if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
					await socket.join(room(projectId));
					socket.emit('project', project);
					socket.emit('devices', await store.devices.listByProject(projectId));
					for (const r of await store.rounds.listByProject(projectId)) socket.emit('round', r);
					return { ok: true as const };
				})
			);
		});
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
