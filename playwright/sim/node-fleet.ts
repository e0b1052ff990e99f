import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { hostParticipants, type Host, type HostConfig, type HostEvent, type HostedParticipant } from './node-host';

export interface NodeFleetOptions {
	project: string;
	/** The project's join token: every participant registers with it. */
	joinToken: string;
	seed: number;
	dropout: number;
	participants: HostedParticipant[];
	/** 0: every participant in this process; otherwise groups of this size in child processes. */
	perProcess: number;
	onEvent(event: HostEvent): void;
}

export interface NodeFleet {
	/** Child processes used (0 when hosted in-process), for the report. */
	readonly processes: number;
	stop(): Promise<void>;
}

const HOST_MAIN = path.join(import.meta.dirname, 'node-host-main.ts');

/**
 * Starts the headless participants: in this process (they share one event loop and one tfjs,
 * which training yields between batches for), or in child processes of `perProcess` each so
 * their training can use the second core while this process relays and polls.
 */
export async function startNodeFleet(options: NodeFleetOptions): Promise<NodeFleet> {
	const base: Omit<HostConfig, 'participants'> = { project: options.project, joinToken: options.joinToken, seed: options.seed, dropout: options.dropout };
	if (options.participants.length === 0) return { processes: 0, stop: async () => undefined };
	if (options.perProcess <= 0) {
		const host: Host = await hostParticipants({ ...base, participants: options.participants }, options.onEvent);
		return { processes: 0, stop: async () => host.stopAll() };
	}
	const children: ChildProcess[] = [];
	const groups: HostedParticipant[][] = [];
	for (let i = 0; i < options.participants.length; i += options.perProcess) groups.push(options.participants.slice(i, i + options.perProcess));
	await Promise.all(
		groups.map(
			(participants) =>
				new Promise<void>((resolve, reject) => {
					const child = fork(HOST_MAIN, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
					children.push(child);
					child.on('message', (m: HostEvent | { type: 'started' }) => (m.type === 'started' ? resolve() : options.onEvent(m)));
					child.once('exit', (code) => reject(new Error(`node participant host exited with ${code}`)));
					child.send({ type: 'start', config: { ...base, participants } });
				})
		)
	);
	return {
		processes: children.length,
		async stop() {
			await Promise.all(
				children.map(
					(child) =>
						new Promise<void>((resolve) => {
							if (child.exitCode !== null) return resolve();
							child.removeAllListeners('exit');
							child.once('exit', () => resolve());
							child.send({ type: 'stop' });
							setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
						})
				)
			);
		}
	};
}
