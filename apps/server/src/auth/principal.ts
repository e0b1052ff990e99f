import type { IncomingHttpHeaders } from 'node:http';
import { lowerRole, SCOPE_ROLE, type ApiKeyRecord, type Role, type User } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import { sessionTokenFrom } from './session-cookie';
import { API_KEY_PREFIX, parseApiKey, sameDigest, sha256Hex } from './tokens';

/** Who is calling, as the REST API and the dashboard socket see it. */
export interface Principal {
	user: User;
	via: 'session' | 'apiKey';
	sessionId: string | null;
	apiKey: ApiKeyRecord | null;
	/** Role per organisation id; an API key lists only its organisation, at lowerRole(membership role, SCOPE_ROLE[scope]). */
	roles: ReadonlyMap<string, Role>;
}

/** lastUsedAt and lastSeenAt are for people reading a list: a write per request would be waste. */
const TOUCH_INTERVAL_MS = 60_000;

const stale = (at: string | null, now: number) => at === null || now - Date.parse(at) >= TOUCH_INTERVAL_MS;

/** The bearer credential of an Authorization header, or null. */
export function bearerToken(headers: IncomingHttpHeaders): string | null {
	const header = headers.authorization;
	if (typeof header !== 'string') return null;
	const match = /^Bearer +(\S{1,512}) *$/i.exec(header);
	return match ? match[1] : null;
}

/** Whether the Authorization header uses the Bearer scheme at all (well-formed or not). */
export function hasBearerScheme(headers: IncomingHttpHeaders): boolean {
	const header = headers.authorization;
	return typeof header === 'string' && /^\s*Bearer(\s|$)/i.test(header);
}

/** Resolves request headers to a Principal with the roles it has right now (memberships are read each time). */
export class Authenticator {
	constructor(private readonly store: Store) {}

	/** From a Cookie header (session) or Authorization: Bearer qfk_...; null when absent, invalid, expired or revoked. */
	async fromHeaders(headers: IncomingHttpHeaders): Promise<Principal | null> {
		// A Bearer credential decides alone, whatever it is (a bad key, a join token, too long, empty):
		// it is never rescued by a cookie the same client also sent.
		if (hasBearerScheme(headers)) {
			const bearer = bearerToken(headers);
			return bearer?.startsWith(API_KEY_PREFIX) ? this.#fromApiKey(bearer) : null;
		}
		const session = sessionTokenFrom(headers);
		return session ? this.#fromSession(session) : null;
	}

	async #fromApiKey(raw: string): Promise<Principal | null> {
		const parsed = parseApiKey(raw);
		if (!parsed) return null;
		const stored = await this.store.apiKeys.getWithHash(parsed.id);
		if (!stored || !sameDigest(sha256Hex(parsed.secret), stored.secretHash)) return null;
		const now = Date.now();
		if (stored.revokedAt !== null || (stored.expiresAt !== null && Date.parse(stored.expiresAt) <= now)) return null;
		const [user, membership] = await Promise.all([this.store.users.get(stored.userId), this.store.memberships.get(stored.organisationId, stored.userId)]);
		// A key acts for its creator: once the creator left the organisation, the key is dead too.
		if (!user || !membership) return null;
		const { secretHash: _hash, ...apiKey } = stored;
		if (stale(apiKey.lastUsedAt, now)) {
			apiKey.lastUsedAt = new Date(now).toISOString();
			await this.store.apiKeys.touch(apiKey.id, apiKey.lastUsedAt);
		}
		const roles = new Map([[apiKey.organisationId, lowerRole(membership.role, SCOPE_ROLE[apiKey.scope])]]);
		return { user, via: 'apiKey', sessionId: null, apiKey, roles };
	}

	async #fromSession(token: string): Promise<Principal | null> {
		const session = await this.store.sessions.getByHash(sha256Hex(token));
		const now = Date.now();
		if (!session) return null;
		if (Date.parse(session.expiresAt) <= now) {
			await this.store.sessions.delete(session.id);
			return null;
		}
		const user = await this.store.users.get(session.userId);
		if (!user) return null;
		if (stale(session.lastSeenAt, now)) await this.store.sessions.touch(session.id, new Date(now).toISOString());
		const memberships = await this.store.memberships.listByUser(user.id);
		const roles = new Map(memberships.map((m) => [m.organisationId, m.role] as const));
		return { user, via: 'session', sessionId: session.id, apiKey: null, roles };
	}
}

export function roleIn(principal: Principal, organisationId: string): Role | null {
	return principal.roles.get(organisationId) ?? null;
}
