// Child-process entry for a group of Node participants (--nodes-per-process): receives its
// HostConfig over IPC, sends HostEvents back, stops everything on 'stop' or when the runner goes.
import { hostParticipants, type Host, type HostConfig, type HostEvent } from './node-host';

type RunnerMessage = { type: 'start'; config: HostConfig } | { type: 'stop' };

let host: Host | null = null;
const send = (event: HostEvent | { type: 'started' }): void => {
	if (process.connected) process.send?.(event);
};

process.on('message', (message: RunnerMessage) => {
	if (message.type === 'start') {
		void hostParticipants(message.config, send).then((h) => {
			host = h;
			send({ type: 'started' });
		});
	} else {
		host?.stopAll();
		setTimeout(() => process.exit(0), 200);
	}
});
process.on('disconnect', () => {
	host?.stopAll();
	process.exit(0);
});
