import { randomUUID } from 'node:crypto';
import {
	CLUSTER_NAMESPACE,
	PEER_EVENTS,
	PEER_REQUESTS,
	type PeerEventName,
	type PeerEventOf,
	type PeerReplyOf,
	type PeerRequestName,
	type PeerRequestOf
} from '@qflare/protocol';
import { createClient } from 'redis';
import type { Namespace, Server } from 'socket.io';
import type { Log } from '../logging';
import type { Cluster, ClusterProbe } from './cluster';
import { RedisLeases } from './redis-leases';

/**
 * Connects to REDIS_URL; node-redis reconnects by itself, and its errors are logged, not thrown.
 * RESP2: the streams adapter reads XREAD replies in RESP2's shape.
 */
export async function openRedis(url: string, log: Log, timeoutMs = REDIS_CONNECT_TIMEOUT_MS) {
	const client = createClient({ url, RESP: 2 });
	let reported = false;
	client.on('error', (e: unknown) => {
		// Once per outage: a reconnect loop would otherwise log every attempt.
		if (reported) return;
		reported = true;
		log(`redis: ${String(e)}`);
	});
	client.on('ready', () => {
		reported = false;
	});
	// node-redis retries a refused connection for ever: a server that cannot reach Redis at start says so instead of hanging.
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`Redis at ${redisHost(url)} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
	});
	try {
		await Promise.race([client.connect(), timeout]);
	} catch (e) {
		await client.disconnect().catch(() => undefined);
		throw e;
	} finally {
		clearTimeout(timer);
	}
	return client;
}

/** How long a starting server waits for Redis. */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/** host:port of a Redis URL, never its password. */
function redisHost(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return '(an unparsable REDIS_URL)';
	}
}

export type RedisClient = Awaited<ReturnType<typeof openRedis>>;

/** How long an instance waits for the others' answers before it goes on with those it has. */
export const PEER_TIMEOUT_MS = 5_000;

/**
 * Several instances over one Redis: leases (RedisLeases) and messages between instances as
 * Socket.IO server-side events on a namespace no client may join, carried by the Redis
 * streams adapter that also carries the room broadcasts to devices and dashboards.
 */
export class RedisCluster implements Cluster {
	readonly mode = 'cluster';
	readonly #leases: RedisLeases;
	readonly #nsp: Namespace;

	constructor(
		private readonly redis: RedisClient,
		io: Server,
		readonly instanceId: string,
		leaseMs: number,
		private readonly log: Log
	) {
		// The lease names this process, not just the instance: a restart on the same host and port is another holder.
		this.#leases = new RedisLeases(redis, `${instanceId}/${process.pid}/${randomUUID().slice(0, 8)}`, leaseMs);
		this.#leases.start();
		this.#nsp = io.of(CLUSTER_NAMESPACE);
		this.#nsp.use((_socket, next) => next(new Error('UNAUTHENTICATED')));
	}

	lead(projectId: string): Promise<number | null> {
		return this.#leases.acquire(projectId);
	}

	fence(projectId: string): number | null {
		return this.#leases.fence(projectId);
	}

	leading(): string[] {
		return this.#leases.held();
	}

	resign(projectId: string): Promise<void> {
		return this.#leases.release(projectId);
	}

	onLost(listener: (projectId: string) => void): void {
		this.#leases.onLost(listener);
	}

	tell<E extends PeerEventName>(event: E, payload: PeerEventOf<E>): void {
		this.#nsp.serverSideEmit(event, payload);
	}

	on<E extends PeerEventName>(event: E, handler: (payload: PeerEventOf<E>) => void): void {
		const schema = PEER_EVENTS[event];
		this.#nsp.on(event as string, (raw: unknown) => {
			const parsed = schema.safeParse(raw);
			if (!parsed.success) {
				this.log(`cluster: dropped a malformed ${event}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
				return;
			}
			handler(parsed.data as PeerEventOf<E>);
		});
	}

	ask<R extends PeerRequestName>(request: R, payload: PeerRequestOf<R>): Promise<PeerReplyOf<R>[]> {
		const schema = PEER_REQUESTS[request].reply;
		return new Promise((resolve) => {
			this.#nsp.serverSideEmit(request, payload, (error: Error | null, replies: unknown[] | undefined) => {
				// A timeout still hands over the answers that came in.
				if (error) this.log(`cluster: ${request}: ${error.message}`);
				const valid: PeerReplyOf<R>[] = [];
				for (const reply of replies ?? []) {
					const parsed = schema.safeParse(reply);
					if (parsed.success) valid.push(parsed.data as PeerReplyOf<R>);
					else this.log(`cluster: dropped a malformed answer to ${request}`);
				}
				resolve(valid);
			});
		});
	}

	answer<R extends PeerRequestName>(request: R, handler: (payload: PeerRequestOf<R>) => Promise<PeerReplyOf<R>>): void {
		const schema = PEER_REQUESTS[request].request;
		this.#nsp.on(request as string, (raw: unknown, ack: unknown) => {
			if (typeof ack !== 'function') return;
			const parsed = schema.safeParse(raw);
			if (!parsed.success) {
				ack(null);
				return;
			}
			handler(parsed.data as PeerRequestOf<R>).then(
				(reply) => ack(reply),
				(e: unknown) => {
					this.log(`cluster: answering ${request} failed: ${String(e)}`);
					ack(null);
				}
			);
		});
	}

	async probe(): Promise<ClusterProbe> {
		const started = performance.now();
		try {
			await Promise.race([this.redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000))]);
			return { reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
		} catch {
			return { reachable: false, latencyMs: null };
		}
	}

	async close(): Promise<void> {
		this.#leases.stop();
		await Promise.allSettled(this.leading().map((p) => this.#leases.release(p)));
	}
}
