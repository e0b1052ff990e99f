import type { BackendKind, Store } from '@qflare/store';
import type { Request, Response } from 'express';

/** How long /health waits for the store before it reports it unreachable (and answers 503). */
export const HEALTH_STORE_TIMEOUT_MS = 2_000;

export interface HealthReport {
	ok: boolean;
	store: { backend: BackendKind; reachable: boolean; latencyMs: number | null };
	/** Multi-instance over Redis is not built yet: only whether REDIS_URL is set, never a probe. */
	redis: { configured: boolean };
	instance: string;
	/** 'single': this instance runs every round (there is no leader election yet). */
	role: 'single';
	uptimeSec: number;
}

export interface HealthOptions {
	store: Store;
	instance: () => string;
	timeoutMs?: number;
	env?: NodeJS.ProcessEnv;
}

type Probe = { reachable: boolean; latencyMs: number | null };

/**
 * GET /health, public (load balancers and orchestrators call it without credentials): 200 when the
 * store answers a cheap read within the timeout, else 503 with ok:false. Concurrent calls share one
 * probe, so a flood of health checks costs the store one read at a time.
 */
export function healthRoute(options: HealthOptions) {
	const timeoutMs = options.timeoutMs ?? HEALTH_STORE_TIMEOUT_MS;
	const env = options.env ?? process.env;
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
		const store = await inFlight;
		const report: HealthReport = {
			ok: store.reachable,
			store: { backend: options.store.backend, ...store },
			redis: { configured: Boolean(env.REDIS_URL) },
			instance: options.instance(),
			role: 'single',
			uptimeSec: Math.round(process.uptime())
		};
		res.setHeader('Cache-Control', 'no-store');
		res.status(report.ok ? 200 : 503).json(report);
	};
}
