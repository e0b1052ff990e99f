/** The Redis commands the leases use; node-redis's client has them. */
export interface LeaseRedis {
	eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

// Take the lease when it is free, or extend it when this instance holds it: the fencing token.
// A new holder gets the next value of the project's counter, so tokens only grow.
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local owner, fence = string.match(v, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(fence)
  end
  return false
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence
`;

// Extend or drop the lease only while it still holds this instance's value.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface Held {
	fence: number;
	/** When the last successful renewal was sent: the lease is certain until then + ttl. */
	renewedAt: number;
}

/**
 * Per-project leader leases in Redis with fencing tokens. Redis rather than MongoDB because the
 * lease must expire by itself within seconds when its holder dies (MongoDB's TTL monitor runs
 * once a minute) and Redis is already there for Socket.IO. One Redis, not Redlock: safety does
 * not rest on the lease alone, since the store refuses round transitions with a lower token
 * than the last one written.
 */
export class RedisLeases {
	readonly #held = new Map<string, Held>();
	readonly #lost: ((projectId: string) => void)[] = [];
	#timer: NodeJS.Timeout | null = null;

	constructor(
		private readonly redis: LeaseRedis,
		private readonly instanceId: string,
		private readonly ttlMs: number,
		private readonly now: () => number = Date.now
	) {
		if (instanceId.includes('|')) throw new Error(`instance id ${instanceId} must not contain "|"`);
	}

	/** Renews held leases every ttl/3 until stop(). */
	start(): void {
		this.#timer ??= setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.ttlMs / 3)));
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}

	async acquire(projectId: string): Promise<number | null> {
		const sent = this.now();
		const reply = await this.redis.eval(ACQUIRE, { keys: [leaseKey(projectId), fenceKey(projectId)], arguments: [this.instanceId, String(this.ttlMs)] });
		if (reply === null || reply === undefined) {
			this.#drop(projectId);
			return null;
		}
		const fence = Number(reply);
		if (!Number.isSafeInteger(fence) || fence <= 0) throw new Error(`lease of ${projectId}: unexpected reply ${String(reply)}`);
		this.#held.set(projectId, { fence, renewedAt: sent });
		return fence;
	}

	/** The token while the lease is surely still ours (renewed less than 0.9 ttl ago). */
	fence(projectId: string): number | null {
		const held = this.#held.get(projectId);
		if (!held) return null;
		if (this.now() - held.renewedAt >= this.#certainMs) {
			this.#drop(projectId);
			return null;
		}
		return held.fence;
	}

	held(): string[] {
		return [...this.#held.keys()].filter((p) => this.fence(p) !== null);
	}

	async release(projectId: string): Promise<void> {
		const held = this.#held.get(projectId);
		if (!held) return;
		this.#held.delete(projectId);
		await this.redis.eval(RELEASE, { keys: [leaseKey(projectId)], arguments: [this.#value(held.fence), String(this.ttlMs)] });
	}

	onLost(listener: (projectId: string) => void): void {
		this.#lost.push(listener);
	}

	async renewAll(): Promise<void> {
		await Promise.all(
			[...this.#held.entries()].map(async ([projectId, held]) => {
				const sent = this.now();
				try {
					const reply = await this.redis.eval(RENEW, { keys: [leaseKey(projectId)], arguments: [this.#value(held.fence), String(this.ttlMs)] });
					if (Number(reply) === 1) {
						if (this.#held.get(projectId) === held) held.renewedAt = sent;
						return;
					}
					this.#drop(projectId);
				} catch {
					// Redis unreachable: the lease stays ours only until its ttl runs out.
					if (this.now() - held.renewedAt >= this.#certainMs) this.#drop(projectId);
				}
			})
		);
	}

	/** How long after a renewal was sent the lease is surely ours: a tenth of the ttl is left for clock drift. */
	get #certainMs(): number {
		return this.ttlMs * 0.9;
	}

	#value(fence: number): string {
		return `${this.instanceId}|${fence}`;
	}

	#drop(projectId: string): void {
		if (!this.#held.delete(projectId)) return;
		for (const listener of this.#lost) listener(projectId);
	}
}

export const leaseKey = (projectId: string): string => `qflare:lease:${projectId}`;
const fenceKey = (projectId: string): string => `qflare:fence:${projectId}`;
