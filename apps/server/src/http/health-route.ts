import type { BackendKind, Store } from '@qflare/store';
import type { Request, Response } from 'express';
import type { Cluster } from '../cluster/cluster';

/** How long /health waits for the store before it reports it unreachable (and answers 503). */
export const HEALTH_STORE_TIMEOUT_MS = 2_000;

export interface HealthReport {
	ok: boolean;
	store: { backend: BackendKind; reachable: boolean; latencyMs: number | null };
	/** Reachability is probed only when this instance runs in a cluster (REDIS_URL). */
	redis: { configured: boolean; reachable: boolean | null; latencyMs: number | null };
	instance: string;
	/** 'single': this instance runs every round; 'cluster': it leads the projects in `leads`. */
	role: 'single' | 'cluster';
	/** Projects whose rounds this instance leads now (cluster only). */
	leads: string[];
	uptimeSec: number;
}

export interface HealthOptions {
	store: Store;
	cluster: Cluster;
	instance: () => string;
	timeoutMs?: number;
}

type Probe = { reachable: boolean; latencyMs: number | null };

/**
 * GET /health, public (load balancers and orchestrators call it without credentials): 200 when the
 * store answers a cheap read within the timeout, else 503 with ok:false. Concurrent calls share one
 * probe, so a flood of health checks costs the store one read at a time.
 */
export function healthRoute(options: HealthOptions) {
	const timeoutMs = options.timeoutMs ?? HEALTH_STORE_TIMEOUT_MS;
	let inFlight: Promise<Probe> | null = null;

	const probe = async (): Promise<Probe> => {
		const started = performance.now();
		let timer: NodeJS.Timeout | undefined;
		// The Store has no ping and packages/store is not ours to change: the smallest read stands in for one.
		const read = options.store.projects.list({ limit: 1 }).then(
			() => true,
			() => false
		);
		const timeout = new Promise<false>((resolve) => {
			timer = setTimeout(() => resolve(false), timeoutMs);
		});
		try {
			const reachable = await Promise.race([read, timeout]);
			return { reachable, latencyMs: reachable ? Math.round((performance.now() - started) * 10) / 10 : null };
		} finally {
			clearTimeout(timer);
		}
	};

	return async (_req: Request, res: Response): Promise<void> => {
		inFlight ??= probe().finally(() => {
			inFlight = null;
		});
		const [store, redis] = await Promise.all([inFlight, options.cluster.probe()]);
		const report: HealthReport = {
			ok: store.reachable && (redis?.reachable ?? true),
			store: { backend: options.store.backend, ...store },
			redis: { configured: redis !== null, reachable: redis?.reachable ?? null, latencyMs: redis?.latencyMs ?? null },
			instance: options.instance(),
			role: options.cluster.mode,
			leads: options.cluster.leading(),
			uptimeSec: Math.round(process.uptime())
		};
		res.setHeader('Cache-Control', 'no-store');
		res.status(report.ok ? 200 : 503).json(report);
	};
}
