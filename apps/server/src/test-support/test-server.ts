import type { CreatedApiKey, CreatedJoinToken, CreateJoinTokenBody, Me, Project } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { RateLimitConfig } from '../auth/rate-limits';
import { startQflareServer, type QflareServer } from '../server';
import { openTempStore, openTempStoreIn, type TempStore } from './temp-store';

export interface ApiReply<T> {
	status: number;
	json: T;
	headers: Headers;
}

/** The owner the test server sets up, and its password (for tests that sign in). */
export const TEST_OWNER = { email: 'owner@example.test', password: 'owner-password-1', name: 'Test Owner', organisation: 'Test organisation' } as const;

/** A Qflare server on a free port over its own embedded store, for tests over real sockets and HTTP. */
export interface TestServer {
	readonly url: string;
	readonly server: QflareServer;
	readonly store: Store;
	/** Folder of the embedded store (removed by close). */
	readonly dataDir: string;
	/** What the server logged (message, then its fields as JSON), for a failing test to show. */
	readonly logs: string[];
	/** The organisation of the owner made at setup. */
	readonly organisationId: string;
	/** `qfk_...` of the owner (scope admin), which api() sends. */
	readonly ownerKey: string;
	/** `qflare_session=...` of the owner's setup session, for session-only routes (ended by tests that end the owner's sessions). */
	readonly ownerCookie: string;
	/** A JSON request to /api/v1 as the owner (Bearer API key): the status and the parsed body, whatever the status. */
	api<T>(method: string, apiPath: string, body?: unknown): Promise<ApiReply<T>>;
	/** The same without credentials, with extra headers (e.g. a Cookie or another key). */
	anonymousApi<T>(method: string, apiPath: string, body?: unknown, headers?: Record<string, string>): Promise<ApiReply<T>>;
	/** POST /orgs/:org/projects in the owner's organisation; throws unless it was created. */
	createProject(config: Record<string, unknown>): Promise<Project>;
	/** A join token of the project (POST /projects/:id/join-tokens); throws on failure. */
	joinToken(projectId: string, body?: Partial<CreateJoinTokenBody>): Promise<string>;
	/** Stops the server, closes the store and removes its folder. */
	close(): Promise<void>;
	/**
	 * A crash and a restart: stops this server (the coordinator finishes nothing more), closes
	 * the store but keeps its folder, and starts a new server on the same folder with the same
	 * owner. Use only the returned server afterwards; its close() removes the folder.
	 */
	restart(options?: { beforeStart?: (store: Store) => void }): Promise<TestServer>;
}

export interface TestServerOptions {
	/** Default: limits high enough that tests never meet them. */
	rateLimits?: Partial<RateLimitConfig>;
	dropoutGraceMs?: number;
	/** Believe X-Forwarded-* (tests of client addresses and https behind a proxy). */
	trustProxy?: boolean;
	/** METRICS_TOKEN for GET /metrics (default: none, whatever the environment says). */
	metricsToken?: string | null;
	/** Cluster mode over this Redis (see startTestCluster). */
	redisUrl?: string;
	leaseMs?: number;
}

const GENEROUS = { points: 100_000, durationSec: 60 };
const NO_LIMITS: RateLimitConfig = {
	login: GENEROUS,
	loginFailure: GENEROUS,
	setup: GENEROUS,
	invitation: GENEROUS,
	registration: GENEROUS,
	badJoinToken: GENEROUS,
	challenge: GENEROUS
};

async function request<T>(url: string, method: string, body: unknown, headers: Record<string, string>): Promise<ApiReply<T>> {
	const res = await fetch(url, {
		method,
		headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	const text = await res.text();
	let json: unknown = null;
	try {
		json = text ? JSON.parse(text) : null;
	} catch {
		json = text;
	}
	return { status: res.status, json: json as T, headers: res.headers };
}

/**
 * Starts a server with a short drop-out grace (300 ms) over a fresh store in a temporary folder
 * named after `name`, completes first-run setup with the printed token and makes an owner API key.
 */
export async function startTestServer(name: string, options: TestServerOptions = {}): Promise<TestServer> {
	return launch(await openTempStore(name), options, null);
}

/**
 * `count` instances in this process over one Redis and ONE store object (what MongoDB is to
 * separate processes). The first sets up the owner; every instance answers with the same key.
 * Closing an instance closes only it; the last close of the cluster's instances closes the store.
 */
export async function startTestCluster(name: string, count: number, options: TestServerOptions & { redisUrl: string }): Promise<TestServer[]> {
	const temp = await openTempStore(name);
	let open = count;
	const shared: TempStore = {
		...temp,
		close: async () => {
			if (--open === 0) await temp.close();
		}
	};
	const first = await launch(shared, options, null);
	const servers = [first];
	try {
		for (let i = 1; i < count; i++) servers.push(await launch(shared, options, first));
	} catch (error) {
		for (const s of servers) await s.close();
		throw error;
	}
	return servers;
}

interface Owner {
	organisationId: string;
	ownerKey: string;
	ownerCookie: string;
}

/** A server over `temp`: set up afresh, or (`owner` given) a restart over a store set up before. */
async function launch(temp: TempStore, options: TestServerOptions, owner: Owner | null, beforeStart?: (store: Store) => void): Promise<TestServer> {
	beforeStart?.(temp.store);
	const logs: string[] = [];
	let server: QflareServer;
	try {
		server = await startQflareServer({
			store: temp.store,
			port: 0,
			appHandler: null,
			log: (m, fields) => logs.push(fields ? `${m} ${JSON.stringify(fields)}` : m),
			dropoutGraceMs: options.dropoutGraceMs ?? 300,
			rateLimits: { ...NO_LIMITS, ...options.rateLimits },
			trustProxy: options.trustProxy ?? false,
			metricsToken: options.metricsToken ?? null,
			redisUrl: options.redisUrl ?? null,
			leaseMs: options.leaseMs
		});
	} catch (error) {
		await temp.close();
		throw error;
	}
	const api = `${server.url}/api/v1`;
	const close = async () => {
		await server.close();
		await temp.close();
	};
	try {
		const { organisationId, ownerKey, ownerCookie: cookie } = owner ?? (await setUp(api, server));
		const authorization = { authorization: `Bearer ${ownerKey}` };
		const asOwner = <T>(method: string, apiPath: string, body?: unknown) => request<T>(`${api}${apiPath}`, method, body, authorization);
		return {
			url: server.url,
			server,
			store: temp.store,
			dataDir: temp.dataDir,
			logs,
			organisationId,
			ownerKey,
			ownerCookie: cookie,
			api: asOwner,
			anonymousApi: (method, apiPath, body, headers = {}) => request(`${api}${apiPath}`, method, body, headers),
			async createProject(config) {
				const res = await asOwner<Project>('POST', `/orgs/${organisationId}/projects`, config);
				if (res.status !== 201) throw new Error(`project not created: ${res.status} ${JSON.stringify(res.json)}`);
				return res.json;
			},
			async joinToken(projectId, body = {}) {
				const res = await asOwner<CreatedJoinToken>('POST', `/projects/${projectId}/join-tokens`, body);
				if (res.status !== 201) throw new Error(`join token not created: ${res.status} ${JSON.stringify(res.json)}`);
				return res.json.token;
			},
			close,
			async restart(restartOptions = {}) {
				await server.close();
				await temp.store.close();
				return launch(await openTempStoreIn(temp.dataDir), options, { organisationId, ownerKey, ownerCookie: cookie }, restartOptions.beforeStart);
			}
		};
	} catch (error) {
		await close();
		throw error;
	}
}

/** First-run setup with the printed token, and an admin API key for the owner. */
async function setUp(api: string, server: QflareServer): Promise<Owner> {
	const token = server.setupToken;
	if (!token) throw new Error('a fresh store has no setup token');
	const setup = await request<Me>(`${api}/auth/setup`, 'POST', { token, ...TEST_OWNER }, {});
	if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.json)}`);
	const ownerCookie = (setup.headers.get('set-cookie') ?? '').split(';')[0];
	const organisationId = setup.json.organisations[0].id;
	const key = await request<CreatedApiKey>(`${api}/orgs/${organisationId}/api-keys`, 'POST', { name: 'tests', scope: 'admin', expiresInDays: null }, { cookie: ownerCookie });
	if (key.status !== 201) throw new Error(`API key failed: ${key.status} ${JSON.stringify(key.json)}`);
	return { organisationId, ownerKey: key.json.key, ownerCookie };
}
