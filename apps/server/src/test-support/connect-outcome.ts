import type { Socket } from 'socket.io-client';

/** Resolves with the connect_error message, or 'connected'. */
export function connectOutcome(socket: Socket): Promise<string> {
	return new Promise((resolve) => {
		socket.once('connect', () => resolve('connected'));
		socket.once('connect_error', (e) => resolve(e.message));
	});
}
