import { arch, platform } from 'node:os';
import {
	DemoDataProvider,
	fetchProjectFacts,
	LocalDataProvider,
	ParticipantSession,
	ProjectDataProvider,
	SocketIoParticipantSocket,
	type LocalTrainResult,
	type ParticipantState,
	type StateListener
} from '@qflare/participant';
import type { PreparedData } from '@qflare/data-import';
import { FileIdentityStore } from './identity-file';
import { describePrepared, FilePreparedDataStore, prepareLocalFiles, type LocalFiles } from './local-import';
import { NodeTrainer } from './node-trainer';
import { progressPrinter } from './progress-printer';
import { FileShardCache, httpShardFetcher, localShardCache, readLocalShard } from './shard-files';

export interface NodeParticipantOptions {
	/** Server origin, e.g. http://localhost:3000. */
	server: string;
	project: string;
	/** Holds identity.json and the cached demo shard; created when missing. */
	dataDir: string;
	/** Train on this local QFS1 shard instead of the server's demo shard. */
	shardFile?: string | null;
	/** Local-data projects: import this CSV (checked against the project's task) before joining. */
	csvFile?: string | null;
	/** Local-data projects: import this image folder (one sub-folder per class, or labelsFile). */
	imagesDir?: string | null;
	labelsFile?: string | null;
	/** Label for output lines and the user agent the dashboard shows. */
	name?: string | null;
	/** The project's join token: a new device registers only with one; a registered device needs none. */
	joinToken?: string | null;
	/** Replace the device's key once, right after the first login (the device id stays). */
	rotateKey?: boolean;
	/** Progress lines (see progressPrinter); omitted, nothing is printed. */
	log?: (line: string) => void;
	/** Socket progress reports at most this often (default 1 s: many participants share a server). */
	progressIntervalMs?: number;
	/** socket.io reconnection: first delay and cap (defaults 1 s and 10 s). */
	reconnectionDelayMs?: number;
	reconnectionDelayMaxMs?: number;
	/** Injected HTTP client for the shard download and the project lookup (tests count calls). */
	fetch?: typeof fetch;
	/**
	 * Sees each round's local result (the plain delta) on this machine before it is encoded, masked
	 * or sent: simulations compare the server's secure sum with the plain mean of these.
	 */
	onLocalResult?: (result: LocalTrainResult) => void;
}

export interface NodeParticipant {
	readonly deviceId: string;
	state(): ParticipantState;
	/** Svelte-store style: called now and on every change; returns the unsubscriber. */
	subscribe(listener: StateListener): () => void;
	/**
	 * Settles when the session ends: stop(), a fatal error (state().phase === 'failed') or a
	 * local-data project with no usable data here ('needs-data').
	 */
	readonly finished: Promise<ParticipantState>;
	/** Disconnects for good and frees the model; a round in progress is abandoned. */
	stop(): void;
	/** Replaces the device's ML-DSA key (logged in only); the new key is stored once the server took it. */
	rotateKey(): Promise<{ keyCreatedAt: string }>;
}

const VERSION = '0.1.0';

function localFiles(options: NodeParticipantOptions): LocalFiles | null {
	if (options.csvFile) return { csvFile: options.csvFile };
	if (options.imagesDir) return { imagesDir: options.imagesDir, labelsFile: options.labelsFile ?? null };
	return null;
}

/**
 * Starts one headless participant: the same ParticipantSession as the browser page, with a
 * file identity, a file shard cache, socket.io-client and tfjs in this process. With --csv or
 * --images it first reads the project's task over HTTP, prepares the files and caches them in
 * the data directory; a bad file rejects here, before any connection. Resolves once the
 * identity is loaded (so deviceId is known); connection and login continue in the background
 * and reconnect by themselves. Many may run in one process; they share tfjs.
 */
export async function startNodeParticipant(options: NodeParticipantOptions): Promise<NodeParticipant> {
	// A bad local shard or data file is the user's mistake: say so now, not when the first round arrives.
	const localShard = options.shardFile ? await readLocalShard(options.shardFile) : null;
	const files = localFiles(options);
	const preparedStore = new FilePreparedDataStore(options.dataDir);
	let imported: PreparedData | null = null;
	if (files) {
		const facts = await fetchProjectFacts(options.server, options.project, options.joinToken ?? null, options.fetch);
		imported = await prepareLocalFiles(facts, files);
		await preparedStore.save(options.project, imported);
		options.log?.(`prepared ${describePrepared(imported)}; kept in ${preparedStore.pathOf(options.project)}`);
	}
	const trainer = new NodeTrainer(options.onLocalResult);
	const session = new ParticipantSession({
		projectId: options.project,
		socket: new SocketIoParticipantSocket(options.server, {
			reconnectionDelayMs: options.reconnectionDelayMs,
			reconnectionDelayMaxMs: options.reconnectionDelayMaxMs
		}),
		identity: new FileIdentityStore(options.dataDir),
		joinToken: options.joinToken ?? null,
		data: new ProjectDataProvider({
			// Files given for a local project never fall back to a demo shard.
			demo: files
				? undefined
				: new DemoDataProvider(localShard ? localShardCache(localShard) : new FileShardCache(options.dataDir), httpShardFetcher(options.server, options.fetch)),
			local: new LocalDataProvider(
				{ load: async (projectId) => (imported && projectId === options.project ? imported : preparedStore.load(projectId)) },
				imported ? `imported ${imported.summary.source}` : `data imported before, from ${preparedStore.pathOf(options.project)}`
			)
		}),
		trainer,
		kind: 'node',
		userAgent: `qflare-participant-node/${VERSION} (Node ${process.versions.node}; ${platform()} ${arch()})${options.name ? ` ${options.name}` : ''}`,
		progressIntervalMs: options.progressIntervalMs ?? 1_000
	});

	let settle: (state: ParticipantState) => void = () => undefined;
	const finished = new Promise<ParticipantState>((resolve) => (settle = resolve));
	session.subscribe((state) => {
		if (state.phase === 'stopped' || state.phase === 'failed' || state.phase === 'needs-data') {
			trainer.dispose();
			settle(state);
		}
	});
	if (options.log) {
		const write = options.log;
		// Until the first login the label is the --name or nothing; the device id comes with every login line.
		session.subscribe(progressPrinter({ write, label: options.name ?? undefined }));
	}

	if (options.rotateKey) {
		let asked = false;
		session.subscribe((state) => {
			// Once, as soon as the session is logged in and idle; a failure is in the log and the session goes on.
			if (asked || state.phase !== 'waiting') return;
			asked = true;
			// Outside the listener: the rotation publishes state of its own.
			queueMicrotask(() => {
				session.rotateKey().catch((error: unknown) => options.log?.(`key rotation failed: ${error instanceof Error ? error.message : String(error)}`));
			});
		});
	}

	await session.start();
	const deviceId = session.snapshot.deviceId;
	if (!deviceId) throw new Error(session.snapshot.error ?? 'the participant failed to start');
	return {
		deviceId,
		state: () => session.snapshot,
		subscribe: (listener) => session.subscribe(listener),
		finished,
		stop: () => session.stop(),
		rotateKey: () => session.rotateKey()
	};
}
