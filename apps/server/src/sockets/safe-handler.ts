import { ErrorCode, ProtocolError, type ErrorReply } from '@qflare/protocol';
import { z } from 'zod';
import type { Log } from '../logging';

/**
 * Wraps a socket event handler: whatever a client sends (wrong types, missing ack, garbage),
 * the handler never throws into Socket.IO, and the client gets an error reply with a code.
 */
export function safeHandler<T>(
	log: Log,
	handle: (payload: unknown) => Promise<T>,
	observe?: (reply: T | ErrorReply) => void
): (payload: unknown, ack?: unknown) => void {
	return (payload, ack) => {
		const send = typeof ack === 'function' ? (ack as (r: T | ErrorReply) => void) : () => {};
		const reply = (r: T | ErrorReply) => {
			observe?.(r);
			send(r);
		};
		handle(payload).then(reply, (e: unknown) => reply(toErrorReply(e, log)));
	};
}

export function toErrorReply(e: unknown, log: Log): ErrorReply {
	if (e instanceof ProtocolError) return e.toReply();
	if (e instanceof z.ZodError) {
		const issues = e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
		return { ok: false, code: ErrorCode.SchemaInvalid, message: issues.slice(0, 1_000) };
	}
	log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
	return { ok: false, code: ErrorCode.Internal, message: 'internal server error' };
}
