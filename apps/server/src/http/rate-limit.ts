import { addressKey, type RateLimitKind, type RateLimits } from '../auth/rate-limits';
import { RateLimitedError } from './errors';

/** Counts one attempt of `kind` for `key`; throws 429 RATE_LIMITED (with Retry-After) once over the limit. */
export async function consumeOrRefuse(rateLimits: RateLimits, kind: RateLimitKind, key: string): Promise<void> {
	const decision = await rateLimits.consume(kind, key);
	if (!decision.ok) throw new RateLimitedError(decision.retryAfterSec);
}

/** Refuses when `key` is already over the limit, without counting (failures are counted where they happen). */
export async function refuseIfLimited(rateLimits: RateLimits, kind: RateLimitKind, key: string): Promise<void> {
	const decision = await rateLimits.check(kind, key);
	if (!decision.ok) throw new RateLimitedError(decision.retryAfterSec);
}

/** The client address for limits and the audit log (req.ip honours TRUST_PROXY). */
export function clientAddress(req: { ip?: string | undefined; socket: { remoteAddress?: string | undefined } }): string {
	return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The key per-address limits count the client under (an IPv6 client by its /64): see addressKey. */
export function limitKey(req: { ip?: string | undefined; socket: { remoteAddress?: string | undefined } }): string {
	return addressKey(clientAddress(req));
}
