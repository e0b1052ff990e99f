import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Helmet's headers for every response, except three it must leave alone: the CSP of pages comes from
 * SvelteKit's kit.csp (it knows the hashes of its inline scripts), and COOP/COEP/CORP are set by
 * isolationHeaders (the trainer's workers need cross-origin isolation).
 */
export const securityHeaders: RequestHandler = helmet({
	contentSecurityPolicy: false,
	crossOriginEmbedderPolicy: false,
	crossOriginOpenerPolicy: false,
	crossOriginResourcePolicy: false
});

/** API answers are data, never documents: nothing in them may load, run or be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export const apiContentSecurityPolicy: RequestHandler = (_req, res, next) => {
	res.setHeader('Content-Security-Policy', API_CSP);
	next();
};
