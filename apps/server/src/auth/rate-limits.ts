import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * What each limit counts. Keys are the client address, except `loginFailure` (the account's
 * e-mail): per-address limits stop one machine from guessing, per-account ones stop many
 * machines from guessing one password.
 */
export type RateLimitKind = 'login' | 'loginFailure' | 'setup' | 'invitation' | 'registration' | 'badJoinToken';

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
	badJoinToken: { points: 20, durationSec: 60 }
};

/** Limits from the environment: QFLARE_JOIN_RATE_LIMIT raises registrations per address per minute (simulations). */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<RateLimitConfig> {
	const join = Number(env.QFLARE_JOIN_RATE_LIMIT);
	return Number.isInteger(join) && join > 0 ? { registration: { points: join, durationSec: 60 } } : {};
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

/** In-memory counters per kind and key (one instance; several instances would share Redis). */
export class RateLimits {
	readonly config: RateLimitConfig;
	readonly #limiters: Record<RateLimitKind, RateLimiterMemory>;

	constructor(overrides: Partial<RateLimitConfig> = {}) {
		this.config = { ...DEFAULT_RATE_LIMITS, ...overrides };
		this.#limiters = Object.fromEntries(
			Object.entries(this.config).map(([kind, limit]) => [kind, new RateLimiterMemory({ points: limit.points, duration: limit.durationSec })])
		) as Record<RateLimitKind, RateLimiterMemory>;
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
