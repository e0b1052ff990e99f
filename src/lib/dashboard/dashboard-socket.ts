import { io, type Socket } from 'socket.io-client';
import { DASHBOARD_NAMESPACE, ErrorCode, type DashboardClientEvents, type DashboardServerEvents } from '@qflare/protocol';

export type DashboardSocket = Socket<DashboardServerEvents, DashboardClientEvents>;

/** True for the handshake refusals the server sends when the session is missing or over, or the page's origin is foreign. */
export function isAuthRefusal(error: { message?: unknown }): boolean {
	return error.message === ErrorCode.Unauthenticated || error.message === ErrorCode.Forbidden;
}

/**
 * Connects to the dashboard namespace and (re)subscribes to one project on every connect,
 * so a server restart resumes the live view. `onConnection` reports the link state.
 * The handshake carries the session cookie by itself (same origin), so nothing secret is passed
 * here; a refused handshake calls `onUnauthenticated` and does not retry.
 */
export function watchProject(
	projectId: string,
	onConnection: (online: boolean) => void,
	onUnauthenticated: () => void
): DashboardSocket {
	const socket: DashboardSocket = io(`${location.origin}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'] });
	socket.on('connect', () => {
		onConnection(true);
		socket.emit('watch', { projectId }, () => {
			// The ack only confirms the subscription; errors show up as missing updates.
		});
	});
	socket.on('disconnect', (reason) => {
		onConnection(false);
		// The server drops a dashboard when its session or key ends (sign-out, removal, revocation);
		// Socket.IO does not retry that by itself. Connecting again re-runs the handshake, which
		// either lets a still-valid session back in or ends in UNAUTHENTICATED below.
		if (reason === 'io server disconnect') socket.connect();
	});
	socket.on('connect_error', (error) => {
		onConnection(false);
		if (isAuthRefusal(error)) {
			// A middleware refusal is final for this socket; stop any retry before leaving the page.
			socket.disconnect();
			onUnauthenticated();
		}
	});
	return socket;
}
