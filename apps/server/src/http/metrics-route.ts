import { ErrorCode, ProtocolError, roleAtLeast } from '@qflare/protocol';
import type { NextFunction, Request, Response } from 'express';
import { bearerToken, type Authenticator } from '../auth/principal';
import { sameDigest, sha256Hex } from '../auth/tokens';
import type { Log } from '../logging';
import { apiErrorHandler } from './errors';
import type { LiveGauges, ServerMetrics } from './server-metrics';
import { API_CSP } from './security-headers';

export interface MetricsRouteOptions {
	authenticator: Authenticator;
	metrics: ServerMetrics;
	gauges: () => LiveGauges;
	log: Log;
	/** METRICS_TOKEN: `Authorization: Bearer <token>` lets a Prometheus scraper in without a user account. */
	scrapeToken: string | null;
}

/**
 * GET /metrics: Prometheus text for an owner or admin of any organisation (session or API key), or
 * for the scrape token; counts span every organisation, so lesser roles do not get them.
 */
export function metricsRoute(options: MetricsRouteOptions) {
	const { authenticator, metrics, gauges, log } = options;
	const fail = apiErrorHandler(log);
	// Compare digests: equal lengths for timingSafeEqual, and the token's length does not leak either.
	const tokenHash = options.scrapeToken ? sha256Hex(options.scrapeToken) : null;
	const isScraper = (req: Request): boolean => {
		const bearer = tokenHash ? bearerToken(req.headers) : null;
		return bearer !== null && sameDigest(sha256Hex(bearer), tokenHash!);
	};
	return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
		res.setHeader('Content-Security-Policy', API_CSP);
		try {
			if (!isScraper(req)) {
				const principal = await authenticator.fromHeaders(req.headers);
				if (!principal) throw new ProtocolError(ErrorCode.Unauthenticated, 'sign in or send an API key');
				if (![...principal.roles.values()].some((role) => roleAtLeast(role, 'admin'))) throw new ProtocolError(ErrorCode.Forbidden, 'metrics are for owners and admins');
			}
			const text = await metrics.render(gauges());
			res.type(metrics.contentType).send(text);
		} catch (e) {
			fail(e, req, res, next);
		}
	};
}
