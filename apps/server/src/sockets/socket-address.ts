import type { Socket } from 'socket.io';

/**
 * The client's address for rate limits and the audit log. Behind a reverse proxy every socket
 * comes from the proxy, so with TRUST_PROXY set the first X-Forwarded-For entry (the client as
 * the proxy saw it) counts instead; without it that header is the client's own claim and ignored.
 */
export function socketAddress(socket: Pick<Socket, 'handshake'>, env: NodeJS.ProcessEnv = process.env): string {
	const trust = (env.TRUST_PROXY ?? '').trim().toLowerCase();
	if (trust !== '' && trust !== '0' && trust !== 'false') {
		const forwarded = socket.handshake.headers['x-forwarded-for'];
		const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
		if (first) return first;
	}
	return socket.handshake.address;
}
