import { createServer, type Server as HttpServer } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { DEMO_MODELS, demoTask, encodedWeightBytes } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import express, { type RequestHandler } from 'express';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server } from 'socket.io';
import { Authenticator } from './auth/principal';
import { RateLimits, rateLimitsFromEnv, type RateLimitConfig } from './auth/rate-limits';
import { SetupLink } from './auth/setup-link';
import { SingleInstance, type Cluster } from './cluster/cluster';
import { openRedis, RedisCluster } from './cluster/redis-cluster';
import { ShardService } from './data/shard-service';
import { apiRouter } from './http/api-router';
import { healthRoute } from './http/health-route';
import { isolationHeaders } from './http/isolation-headers';
import { metricsRoute } from './http/metrics-route';
import { requestLog } from './http/request-log';
import { securityHeaders } from './http/security-headers';
import { ServerMetrics } from './http/server-metrics';
import { consoleLog, type Log } from './logging';
import { NodeModelService } from './models/node-model-service';
import { RoundCoordinator } from './rounds/round-coordinator';
import { VerifierPool } from './rounds/verifier-pool';
import { DashboardNamespace } from './sockets/dashboard-namespace';
import { ParticipantNamespace } from './sockets/participant-namespace';

export interface QflareServerOptions {
	store: Store;
	port: number;
	host?: string;
	/** SvelteKit's adapter-node handler; null serves only the API and sockets (tests). */
	appHandler: RequestHandler | null;
	/** Origins participants should use in join links and QR codes (default: this machine's LAN addresses). */
	publicOrigins?: string[];
	/** Where events go; main.ts passes a pino logger's (JSON lines). Default: readable lines on stdout. */
	log?: Log;
	/** How long a selected device may be offline mid-round before it counts as dropped. */
	dropoutGraceMs?: number;
	/** Overrides of the rate limits (after those from the environment). */
	rateLimits?: Partial<RateLimitConfig>;
	/** Behind a reverse proxy: client address and protocol from X-Forwarded-*. Default: the TRUST_PROXY env. */
	trustProxy?: boolean;
	/** The `instance` of metrics, logs and /health. Default: QFLARE_INSTANCE_ID, else <hostname>:<port>. */
	instanceId?: string;
	/** Bearer token a Prometheus scraper sends to GET /metrics. Default: the METRICS_TOKEN env (unset: none). */
	metricsToken?: string | null;
	/**
	 * Several instances: the Redis they share (Socket.IO adapter, leader leases). They must share
	 * the store too: MongoDB across processes (main.ts insists), or one Store object in one process (tests).
	 * Default: none, this process runs alone.
	 */
	redisUrl?: string | null;
	/** Time to live of a project's leader lease in Redis (default 10 s): how soon a dead leader is replaced. */
	leaseMs?: number;
}

export interface QflareServer {
	url: string;
	http: HttpServer;
	coordinator: RoundCoordinator;
	/** The instance id in metrics, logs and /health. */
	readonly instanceId: string;
	/** The one-time setup token while no user exists (printed at start), null afterwards. */
	readonly setupToken: string | null;
	close(): Promise<void>;
}

/**
 * Parameters a local-data project's model may have (16 MiB of float32), so that e.g. the CNN
 * on 32x32x3 images fits; a project whose model is larger is refused when it is created.
 */
const LOCAL_MODEL_PARAMETER_BUDGET = 4_194_304;

/** One HTTP server, one port: the SvelteKit app, the REST API and Socket.IO. */
export async function startQflareServer(options: QflareServerOptions): Promise<QflareServer> {
	const log = options.log ?? consoleLog;
	const { store } = options;
	// With port 0 (tests) the port is known only after listen; an explicit or env id never changes.
	const fixedInstanceId = options.instanceId ?? (process.env.QFLARE_INSTANCE_ID?.trim() || null);
	let instanceId = fixedInstanceId ?? defaultInstanceId(options.port);
	const metrics = new ServerMetrics(instanceId);
	const app = express();
	app.disable('x-powered-by');
	// One hop: the proxy in front; a client-supplied X-Forwarded-For further left is not believed.
	const trustProxy = options.trustProxy ?? trustProxyFromEnv(process.env);
	if (trustProxy) app.set('trust proxy', 1);
	app.use(requestLog(log));
	app.use(isolationHeaders);
	app.use(securityHeaders);

	const http = createServer(app);
	const models = new NodeModelService();
	// An update is one encoded weight vector plus a little metadata; the default 1 MB limit
	// would close the websocket on a CNN update (FACTS.md). The largest demo model (the CNN)
	// and the budget for local-data models both fit.
	const maxModelParameters = Math.max(LOCAL_MODEL_PARAMETER_BUDGET, ...DEMO_MODELS.map((m) => models.parameterCount(m, demoTask('mnist'))));
	const largestUpdate = encodedWeightBytes(maxModelParameters);
	const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
	const redis = options.redisUrl ? await openRedis(options.redisUrl, log) : null;
	const io = new Server(http, {
		maxHttpBufferSize: largestUpdate + 1_000_000,
		serveClient: false,
		// Heartbeats every third of a lease: an instance that died stops being waited for within about a lease.
		...(redis ? { adapter: createAdapter(redis, { heartbeatInterval: Math.ceil(leaseMs / 3), heartbeatTimeout: leaseMs }) } : {})
	});
	const cluster: Cluster = redis ? new RedisCluster(redis, io, instanceId, leaseMs, log) : new SingleInstance(instanceId);
	app.get('/health', healthRoute({ store, cluster, instance: () => instanceId }));

	// The default namespace serves nothing; only /dashboard and /participant (with their own checks) do.
	io.use((_socket, next) => next(new Error('UNAUTHENTICATED')));

	const rateLimits = new RateLimits({ ...rateLimitsFromEnv(process.env), ...options.rateLimits }, redis);
	const authenticator = new Authenticator(store);
	const setupLink = new SetupLink();
	await setupLink.init(store);
	const publicOrigins = options.publicOrigins ?? lanOrigins(options.port);
	const dashboard = new DashboardNamespace(io, store, log, authenticator, { publicOrigins, trustProxy });
	const participants = new ParticipantNamespace(io, store, dashboard, metrics, log, rateLimits, trustProxy, cluster);
	// Signatures and digests of updates are checked on worker threads (QFLARE_VERIFY_THREADS, default cores - 1).
	const verifier = new VerifierPool({ log: (m) => log(m) });
	const coordinator = new RoundCoordinator({
		store,
		models,
		participants,
		feed: dashboard,
		log,
		metrics,
		dropoutGraceMs: options.dropoutGraceMs,
		cluster,
		leaseCheckMs: Math.ceil(leaseMs / 3),
		verifier
	});
	participants.bindCoordinator(coordinator);

	const gauges = () => ({ devicesOnline: participants.presence.onlineCount, activeRounds: coordinator.activeRounds });
	const metricsToken = options.metricsToken !== undefined ? options.metricsToken : process.env.METRICS_TOKEN?.trim() || null;
	if (metricsToken !== null && metricsToken.length < 16) log('METRICS_TOKEN is shorter than 16 characters: anyone who guesses it reads /metrics');
	app.get('/metrics', metricsRoute({ authenticator, metrics, gauges, log, scrapeToken: metricsToken }));
	app.use(
		'/api/v1',
		apiRouter({ publicOrigins, store, coordinator, shards: new ShardService(), models, maxModelParameters, log, authenticator, rateLimits, setupLink, participants, dashboard })
	);
	if (options.appHandler) app.use(options.appHandler);

	// Other instances hold sockets of their own: only a lone instance knows that nobody is online.
	if (cluster.mode === 'single') await store.devices.markAllOffline();
	await new Promise<void>((resolve, reject) => {
		http.once('error', reject);
		http.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
	});
	const { port } = http.address() as AddressInfo;
	const url = `http://localhost:${port}`;
	if (fixedInstanceId === null && port !== options.port) {
		instanceId = defaultInstanceId(port);
		metrics.setInstance(instanceId);
	}
	await coordinator.resume();

	return {
		url,
		http,
		coordinator,
		get instanceId() {
			return instanceId;
		},
		get setupToken() {
			return setupLink.token;
		},
		async close() {
			coordinator.close();
			await verifier.close();
			await cluster.close();
			await new Promise<void>((resolve) => io.close(() => resolve()));
			http.closeAllConnections();
			await new Promise<void>((resolve) => http.close(() => resolve()));
			await redis?.quit().catch(() => undefined);
		}
	};
}

/** How long a leader lease lives without renewal. */
export const DEFAULT_LEASE_MS = 10_000;

/** <hostname>:<port>: unique per instance on a host and readable in a dashboard (QFLARE_INSTANCE_ID overrides it). */
export function defaultInstanceId(port: number): string {
	return `${hostname()}:${port}`;
}

/** TRUST_PROXY=1 (or any value but 0/false/empty): a reverse proxy sits in front of the server. */
export function trustProxyFromEnv(env: NodeJS.ProcessEnv): boolean {
	const value = (env.TRUST_PROXY ?? '').trim().toLowerCase();
	return value !== '' && value !== '0' && value !== 'false';
}

/** http://<address>:<port> for each external IPv4 interface: what a phone on the same network can open. */
export function lanOrigins(port: number): string[] {
	return Object.values(networkInterfaces())
		.flat()
		.filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
		.map((a) => `http://${a!.address}:${port}`);
}
