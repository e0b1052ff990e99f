import { ErrorCode, ProtocolError } from '@qflare/protocol';
import type { Request, RequestHandler } from 'express';
import { bearerToken } from '../auth/principal';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin the request was addressed to (behind a trusted proxy, the one the browser saw). */
function ownOrigin(req: Request): string {
	return `${req.protocol}://${req.host}`;
}

/**
 * Cross-site request forgery guard: a browser sends cookies on cross-site form posts (SameSite=Lax
 * stops most, not all, e.g. same-site sibling hosts), and always sends Origin on a non-GET request.
 * A state-changing request that is not Bearer-authenticated and comes from a foreign page is refused,
 * sign-in and setup included (they set a cookie). Clients that send no Origin (CLIs) are not browsers.
 */
export function originCheck(extraOrigins: readonly string[]): RequestHandler {
	const allowed = new Set(extraOrigins);
	return (req, _res, next) => {
		const origin = req.headers.origin;
		if (SAFE_METHODS.has(req.method) || origin === undefined || bearerToken(req.headers) !== null) return next();
		if (origin === ownOrigin(req) || allowed.has(origin)) return next();
		throw new ProtocolError(ErrorCode.Forbidden, 'cross-origin request refused');
	};
}
