import { ErrorCode, ProtocolError, roleAtLeast } from '@qflare/protocol';
import type { NextFunction, Request, Response } from 'express';
import type { Authenticator } from '../auth/principal';
import { apiErrorHandler } from './errors';
import type { ServerMetrics } from './server-metrics';
import { API_CSP } from './security-headers';

/**
 * GET /metrics: Prometheus text for an owner or admin of any organisation (session or API key);
 * counts span every organisation, so lesser roles do not get them.
 */
export function metricsRoute(authenticator: Authenticator, metrics: ServerMetrics, gauges: () => { devicesOnline: number; activeRounds: number }, log: (m: string) => void) {
	const fail = apiErrorHandler(log);
	return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
		res.setHeader('Content-Security-Policy', API_CSP);
		try {
			const principal = await authenticator.fromHeaders(req.headers);
			if (!principal) throw new ProtocolError(ErrorCode.Unauthenticated, 'sign in or send an API key');
			if (![...principal.roles.values()].some((role) => roleAtLeast(role, 'admin'))) throw new ProtocolError(ErrorCode.Forbidden, 'metrics are for owners and admins');
			res.type('text/plain; version=0.0.4').send(metrics.render(gauges()));
		} catch (e) {
			fail(e, req, res, next);
		}
	};
}
