import { ErrorCode, ProtocolError, type ErrorCode as Code, type ErrorReply } from '@qflare/protocol';
import type { NextFunction, Request, Response } from 'express';
import type { Log } from '../logging';
import { toErrorReply } from '../sockets/safe-handler';
import { requestIdOf } from './request-log';

export const STATUS: Partial<Record<Code, number>> = {
	SCHEMA_INVALID: 400,
	UNAUTHENTICATED: 401,
	JOIN_TOKEN_INVALID: 401,
	FORBIDDEN: 403,
	DEVICE_REVOKED: 403,
	UNKNOWN_PROJECT: 404,
	UNKNOWN_DEVICE: 404,
	NOT_FOUND: 404,
	CONFLICT: 409,
	TOO_LARGE: 413,
	RATE_LIMITED: 429,
	INTERNAL: 500
};

/** A refusal by a rate limit: the reply says when to try again. */
export class RateLimitedError extends ProtocolError {
	constructor(readonly retryAfterSec: number) {
		super(ErrorCode.RateLimited, `too many attempts; try again in ${retryAfterSec} s`);
	}
}

/**
 * Errors from express and its parsers (http-errors) carry a 4xx status when the client is at fault:
 * bad JSON, a body over the limit, a malformed %-escape in the path, an unsupported charset.
 */
function clientFault(err: unknown): { status: number; type: string } | null {
	if (!(err instanceof Error)) return null;
	const { status, statusCode, type } = err as Error & { status?: unknown; statusCode?: unknown; type?: unknown };
	const code = typeof status === 'number' ? status : statusCode;
	if (typeof code !== 'number' || code < 400 || code > 499) return null;
	return { status: code, type: typeof type === 'string' ? type : '' };
}

function faultReply(fault: { status: number; type: string }, err: Error): ErrorReply {
	switch (fault.type) {
		case 'entity.too.large':
			return { ok: false, code: ErrorCode.TooLarge, message: 'request body is larger than this route takes' };
		case 'entity.parse.failed':
			return { ok: false, code: ErrorCode.SchemaInvalid, message: 'request body is not valid JSON' };
		case 'entity.too.deep':
			return { ok: false, code: ErrorCode.SchemaInvalid, message: err.message };
		default:
			return { ok: false, code: fault.status === 413 ? ErrorCode.TooLarge : ErrorCode.SchemaInvalid, message: `request refused: ${err.message.slice(0, 200)}` };
	}
}

/** The last handler of the API: every error becomes `{ ok: false, code, message }`; only real faults are 500. */
export function apiErrorHandler(log: Log) {
	return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
		const fault = err instanceof ProtocolError ? null : clientFault(err);
		if (fault) {
			const reply = faultReply(fault, err as Error);
			res.status(reply.code === ErrorCode.TooLarge ? 413 : fault.status).json(reply);
			return;
		}
		if (err instanceof RateLimitedError) res.setHeader('Retry-After', String(err.retryAfterSec));
		// An internal error's log line names the request, so it can be matched to its access-log line.
		const requestId = requestIdOf(res);
		const reply = toErrorReply(err, (message) => log(message, requestId ? { requestId } : undefined));
		res.status(STATUS[reply.code] ?? 400).json(reply);
	};
}

export const notFound = (_req: Request, _res: Response, next: NextFunction): void => {
	next(new ProtocolError(ErrorCode.NotFound, 'no such API route'));
};
