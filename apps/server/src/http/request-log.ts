import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Log, LogFields } from '../logging';

/** An X-Request-Id from a proxy is reused only when it is short and plain (it goes into every log line). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Path segments that are credentials: join tokens, invitations, API keys (e.g. GET /api/v1/invitations/qin_...). */
const SECRET_SEGMENT = /^(?:qjt_|qin_|qfk_)/i;

/**
 * The path a log line may show: no query string at all (/join?t=qjt_..., /setup?token=...,
 * /invite?token=... carry tokens there, and no other query is worth that risk) and no segment that is
 * a token. Headers are never logged, so Authorization, Cookie and Set-Cookie cannot leak.
 */
export function loggablePath(url: string): string {
	const path = url.split(/[?#]/, 1)[0];
	const segments = path.split('/');
	return segments
		.map((segment, i) => {
			const previous = segments[i - 1];
			if (SECRET_SEGMENT.test(segment)) return '[redacted]';
			// /api/v1/invitations/<token>: whatever follows is a token attempt, unless it is the accept route.
			if (previous === 'invitations' && segments[i - 2] === 'v1' && segment !== 'accept' && segment !== '') return '[redacted]';
			return segment;
		})
		.join('/');
}

/** The request id the request log gave this response (for other log lines about the same request). */
export function requestIdOf(res: Response): string | null {
	const id: unknown = res.locals.requestId;
	return typeof id === 'string' ? id : null;
}

/**
 * One log event per HTTP request when its response ends (but healthy /health polls): request id (the
 * caller's X-Request-Id or a new UUID, echoed in the response), method, path (see loggablePath),
 * status, duration, client address.
 */
export function requestLog(log: Log) {
	return (req: Request, res: Response, next: NextFunction): void => {
		const given = req.get('x-request-id');
		const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
		res.locals.requestId = requestId;
		res.setHeader('X-Request-Id', requestId);
		const started = process.hrtime.bigint();
		let logged = false;
		const done = () => {
			if (logged) return;
			logged = true;
			// Load balancers and the container's HEALTHCHECK ask every few seconds: only a failing answer is news.
			// originalUrl: a mounted router (/api/v1) has cut req.url by the time the answer ends.
			const path = loggablePath(req.originalUrl);
			if (path === '/health' && res.statusCode < 400) return;
			const fields: LogFields = {
				requestId,
				method: req.method,
				path,
				status: res.statusCode,
				ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
				ip: req.ip ?? null,
				// A client that went away before the response was complete.
				aborted: !res.writableFinished
			};
			log('http request', fields);
		};
		res.once('finish', done);
		res.once('close', done);
		next();
	};
}
