import type { IncomingMessage } from 'node:http';
import { ErrorCode, ProtocolError } from '@qflare/protocol';
import type { Request, RequestHandler } from 'express';
import { optionalPrincipal } from '../auth/authorize';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin the request was addressed to (behind a trusted proxy, the one the browser saw). */
function ownOrigin(req: Request): string {
	return `${req.protocol}://${req.host}`;
}

/** The first value of a header that a proxy may have sent as a comma-separated list. */
function firstHeaderValue(value: string | string[] | undefined): string | undefined {
	const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
	return first ? first : undefined;
}

/**
 * The origin a raw request (a Socket.IO handshake) was addressed to, by Express's rule: the Host
 * header and the connection's protocol; behind a trusted proxy X-Forwarded-Host and -Proto.
 */
export function requestOwnOrigin(request: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxy: boolean): string {
	const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
	const proto = (trustProxy ? firstHeaderValue(request.headers['x-forwarded-proto']) : undefined) ?? (encrypted ? 'https' : 'http');
	const host = (trustProxy ? firstHeaderValue(request.headers['x-forwarded-host']) : undefined) ?? request.headers.host ?? '';
	return `${proto}://${host}`;
}

/**
 * The one rule for where a browser request that carries the session cookie may come from: no
 * Origin header (not a browser, or a same-origin GET), this server's own origin, or one of the
 * public origins phones and browsers reach it at. Used by the REST API and the dashboard socket.
 */
export function originAllowed(origin: string | undefined, own: string, allowed: Iterable<string>): boolean {
	if (origin === undefined || origin === own) return true;
	for (const extra of allowed) if (origin === extra) return true;
	return false;
}

/**
 * Cross-site request forgery guard: a browser sends cookies on cross-site form posts (SameSite=Lax
 * stops most, not all, e.g. same-site sibling hosts), and always sends Origin on a non-GET request.
 * A state-changing request that is not authenticated by an API key and comes from a foreign page is
 * refused, sign-in and setup included (they set a cookie). Clients that send no Origin (CLIs) are
 * not browsers. Runs after authenticate(): an Authorization header that is no valid API key does
 * not exempt a request (it is then not authenticated at all, the cookie is ignored too).
 */
export function originCheck(extraOrigins: readonly string[]): RequestHandler {
	const allowed = new Set(extraOrigins);
	return (req, _res, next) => {
		if (SAFE_METHODS.has(req.method) || optionalPrincipal(req)?.via === 'apiKey') return next();
		if (originAllowed(req.headers.origin, ownOrigin(req), allowed)) return next();
		throw new ProtocolError(ErrorCode.Forbidden, 'cross-origin request refused');
	};
}
