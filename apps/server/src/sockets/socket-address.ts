import type { Socket } from 'socket.io';

/**
 * The client's address for rate limits and the audit log. Behind a reverse proxy every socket
 * comes from the proxy, so when the server trusts its proxy (TRUST_PROXY) the first X-Forwarded-For entry (the client as
 * the proxy saw it) counts instead; without it that header is the client's own claim and ignored.
 */
export function socketAddress(socket: Pick<Socket, 'handshake'>, trustProxy: boolean): string {
	if (trustProxy) {
		const forwarded = socket.handshake.headers['x-forwarded-for'];
		const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
		if (first) return first;
	}
	return socket.handshake.address;
}
