import { io, type Socket } from 'socket.io-client';
import { DASHBOARD_NAMESPACE, type DashboardClientEvents, type DashboardServerEvents } from '@qflare/protocol';

export type DashboardSocket = Socket<DashboardServerEvents, DashboardClientEvents>;

/**
 * Connects to the dashboard namespace and (re)subscribes to one project on every connect,
 * so a server restart resumes the live view. `onConnection` reports the link state.
 */
export function watchProject(projectId: string, onConnection: (online: boolean) => void): DashboardSocket {
	const socket: DashboardSocket = io(`${location.origin}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'] });
	socket.on('connect', () => {
		onConnection(true);
		socket.emit('watch', { projectId }, () => {
			// The ack only confirms the subscription; errors show up as missing updates.
		});
	});
	socket.on('disconnect', () => onConnection(false));
	socket.on('connect_error', () => onConnection(false));
	return socket;
}
