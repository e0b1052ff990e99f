/**
 * Which devices are connected, per project, and which of them have reported their backend and
 * data (ready to train). A device may hold several sockets (a reload overlaps the old tab).
 */
export class Presence {
	readonly #sockets = new Map<string, Set<string>>();
	readonly #ready = new Map<string, Set<string>>();

	connect(projectId: string, deviceId: string, socketId: string): void {
		const key = `${projectId}/${deviceId}`;
		let set = this.#sockets.get(key);
		if (!set) this.#sockets.set(key, (set = new Set()));
		set.add(socketId);
	}

	/** Returns true when the device has no socket left. */
	disconnect(projectId: string, deviceId: string, socketId: string): boolean {
		const key = `${projectId}/${deviceId}`;
		const set = this.#sockets.get(key);
		set?.delete(socketId);
		if (set && set.size > 0) return false;
		this.#sockets.delete(key);
		this.#ready.get(projectId)?.delete(deviceId);
		return true;
	}

	markReady(projectId: string, deviceId: string): void {
		let set = this.#ready.get(projectId);
		if (!set) this.#ready.set(projectId, (set = new Set()));
		set.add(deviceId);
	}

	/** The device has no training data any more (it deleted its files). */
	markUnready(projectId: string, deviceId: string): void {
		this.#ready.get(projectId)?.delete(deviceId);
	}

	isOnline(projectId: string, deviceId: string): boolean {
		return this.#sockets.has(`${projectId}/${deviceId}`);
	}

	/** Devices of the project with at least one socket. */
	onlineDevices(projectId: string): string[] {
		const prefix = `${projectId}/`;
		return [...this.#sockets.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
	}

	/** Devices with at least one socket, over all projects. */
	get onlineCount(): number {
		return this.#sockets.size;
	}

	readyDevices(projectId: string): string[] {
		return [...(this.#ready.get(projectId) ?? [])].sort();
	}
}
