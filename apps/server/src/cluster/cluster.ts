import type { PeerEventName, PeerEventOf, PeerReplyOf, PeerRequestName, PeerRequestOf } from '@qflare/protocol';

/** Whether Redis answers, for /health. */
export interface ClusterProbe {
	reachable: boolean;
	latencyMs: number | null;
}

/**
 * The instances that share one store. Each running project has one leader instance, which
 * opens, closes and commits its rounds; it holds a lease whose fencing token goes with every
 * round transition it writes, so a leader that lost its lease cannot move a round any more.
 * Every instance takes updates on its own sockets and tells the leader (see rounds/).
 */
export interface Cluster {
	readonly mode: 'single' | 'cluster';
	readonly instanceId: string;
	/**
	 * Leads the project if nobody does (or this instance already does): its fencing token, or
	 * null while another instance leads it.
	 */
	lead(projectId: string): Promise<number | null>;
	/** The fencing token while this instance leads the project, else null; no I/O. */
	fence(projectId: string): number | null;
	/** Projects this instance leads now. */
	leading(): string[];
	/** Gives the lease up (the project stopped or completed). */
	resign(projectId: string): Promise<void>;
	/** Called when a lease this instance held could not be renewed: another instance may lead now. */
	onLost(listener: (projectId: string) => void): void;
	/** Sends to every other instance, without an answer. */
	tell<E extends PeerEventName>(event: E, payload: PeerEventOf<E>): void;
	on<E extends PeerEventName>(event: E, handler: (payload: PeerEventOf<E>) => void): void;
	/** Asks every other instance; the answers that came in time and fit the schema. */
	ask<R extends PeerRequestName>(request: R, payload: PeerRequestOf<R>): Promise<PeerReplyOf<R>[]>;
	answer<R extends PeerRequestName>(request: R, handler: (payload: PeerRequestOf<R>) => Promise<PeerReplyOf<R>>): void;
	probe(): Promise<ClusterProbe | null>;
	close(): Promise<void>;
}

/** One process: it leads every project, and there is nobody to tell. */
export class SingleInstance implements Cluster {
	readonly mode = 'single';
	constructor(readonly instanceId: string) {}
	async lead(): Promise<number> {
		return 0;
	}
	fence(): number {
		return 0;
	}
	leading(): string[] {
		return [];
	}
	async resign(): Promise<void> {}
	onLost(): void {}
	tell(): void {}
	on(): void {}
	async ask<R extends PeerRequestName>(): Promise<PeerReplyOf<R>[]> {
		return [];
	}
	answer(): void {}
	async probe(): Promise<null> {
		return null;
	}
	async close(): Promise<void> {}
}
