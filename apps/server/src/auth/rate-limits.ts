import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * What each limit counts. Keys are the client address, except `loginFailure` (the account's
 * e-mail): per-address limits stop one machine from guessing, per-account ones stop many
 * machines from guessing one password.
 */
export type RateLimitKind = 'login' | 'loginFailure' | 'setup' | 'invitation' | 'registration' | 'badJoinToken' | 'challenge';

export interface RateLimit {
	points: number;
	durationSec: number;
}
export type RateLimitConfig = Record<RateLimitKind, RateLimit>;

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
	login: { points: 10, durationSec: 15 * 60 },
	loginFailure: { points: 5, durationSec: 15 * 60 },
	setup: { points: 10, durationSec: 60 * 60 },
	invitation: { points: 20, durationSec: 15 * 60 },
	// A classroom behind one NAT registers its phones from one address within a minute or two.
	registration: { points: 60, durationSec: 60 },
	badJoinToken: { points: 20, durationSec: 60 },
	// Every participant login starts with a challenge; simulations connect hundreds of devices from one address.
	challenge: { points: 600, durationSec: 60 }
};

/**
 * Limits from the environment: QFLARE_JOIN_RATE_LIMIT raises registrations per address per minute
 * (simulations), and login challenges with them: to twice as many (a device that reconnects asks
 * again), never below the default.
 */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<RateLimitConfig> {
	const join = Number(env.QFLARE_JOIN_RATE_LIMIT);
	if (!Number.isInteger(join) || join <= 0) return {};
	return {
		registration: { points: join, durationSec: 60 },
		challenge: { points: Math.max(DEFAULT_RATE_LIMITS.challenge.points, 2 * join), durationSec: 60 }
	};
}

/** The 8 groups of an IPv6 address (no zone), as numbers; null when it is not one. */
function ipv6Groups(address: string): number[] | null {
	let text = address;
	const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
	if (dotted) {
		const [a, b, c, d] = dotted[1].split('.').map(Number);
		text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
	}
	const halves = text.split('::');
	if (halves.length > 2) return null;
	const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
	const head = parse(halves[0]);
	const tail = halves.length === 2 ? parse(halves[1]) : [];
	const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
	return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The key a client address counts under in per-address limits. One IPv6 host usually holds a
 * whole /64 and can pick any address in it, so IPv6 counts per /64 prefix ("2001:db8:0:1::/64");
 * an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is the IPv4 address it maps; IPv4 and anything
 * else stays as it is. For limits only: the audit log keeps the full address.
 */
export function addressKey(address: string): string {
	const bare = address.trim().toLowerCase().replace(/%.*$/, '');
	if (isIPv4(bare) || !isIPv6(bare)) return address;
	const groups = ipv6Groups(bare);
	if (!groups) return address;
	if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
		return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
	}
	return `${groups
		.slice(0, 4)
		.map((g) => g.toString(16))
		.join(':')}::/64`;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

/**
 * Counters per kind and key: in memory on a lone instance; in Redis when several instances share
 * one (a guesser spreading attempts over the instances still meets one limit), with the memory
 * counters standing in while Redis does not answer.
 */
export class RateLimits {
	readonly config: RateLimitConfig;
	readonly #limiters: Record<RateLimitKind, RateLimiterAbstract>;

	/** `redis`: a connected node-redis client (the cluster's). */
	constructor(overrides: Partial<RateLimitConfig> = {}, redis: object | null = null) {
		this.config = { ...DEFAULT_RATE_LIMITS, ...overrides };
		const limiter = (kind: string, limit: RateLimit): RateLimiterAbstract => {
			const memory = new RateLimiterMemory({ points: limit.points, duration: limit.durationSec });
			if (!redis) return memory;
			return new RateLimiterRedis({
				storeClient: redis,
				useRedisPackage: true,
				keyPrefix: `qflare:rate:${kind}`,
				points: limit.points,
				duration: limit.durationSec,
				rejectIfRedisNotReady: true,
				insuranceLimiter: memory
			});
		};
		this.#limiters = Object.fromEntries(Object.entries(this.config).map(([kind, limit]) => [kind, limiter(kind, limit)])) as Record<
			RateLimitKind,
			RateLimiterAbstract
		>;
	}

	/** Counts one attempt; refused once the key used up its points in the window. */
	async consume(kind: RateLimitKind, key: string): Promise<RateDecision> {
		try {
			await this.#limiters[kind].consume(key);
			return { ok: true };
		} catch (rejection) {
			if (rejection instanceof RateLimiterRes) return { ok: false, retryAfterSec: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
			throw rejection;
		}
	}

	/** Whether the key is already over its limit, without counting an attempt (per-account login failures). */
	async check(kind: RateLimitKind, key: string): Promise<RateDecision> {
		const state = await this.#limiters[kind].get(key);
		if (state && state.consumedPoints >= this.config[kind].points) {
			return { ok: false, retryAfterSec: Math.max(1, Math.ceil(state.msBeforeNext / 1000)) };
		}
		return { ok: true };
	}

	/** Forgets a key's attempts (a successful login clears its failures). */
	async reset(kind: RateLimitKind, key: string): Promise<void> {
		await this.#limiters[kind].delete(key);
	}
}
