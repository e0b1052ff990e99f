// A headless participant speaking the real socket protocol (the same events and signed
// messages as the browser page), for driving the server from the bench process.
import { generateDeviceKeypair, loginMessage, sha256Hex, signMessage, toBase64, updateMessage, type DeviceKeypair } from '@qflare/pq';
import { API_PREFIX, PARTICIPANT_NAMESPACE, type CreatedJoinToken, type LoginReply, type RoundClosed, type RoundTask, type UpdateEnvelope } from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';

type Reply<T> = (T & { ok: true }) | { ok: false; code: string; message: string };

function ok<T>(what: string, reply: Reply<T>): T & { ok: true } {
	if (!reply.ok) throw new Error(`${what}: ${reply.code} ${reply.message}`);
	return reply;
}

export interface UpdateMeta {
	numSamples: number;
	steps: number;
	trainLoss: number;
	trainAccuracy: number;
	trainMs: number;
}

export interface PreparedUpdate {
	envelope: UpdateEnvelope;
	hashMs: number;
	signMs: number;
}

export class ProtocolParticipant {
	readonly tasks: RoundTask[] = [];
	readonly closed: RoundClosed[] = [];
	#taskWaiters: ((t: RoundTask) => void)[] = [];
	#closedWaiters: ((c: RoundClosed) => void)[] = [];

	private constructor(
		readonly socket: Socket,
		readonly keys: DeviceKeypair,
		readonly login: LoginReply
	) {
		socket.on('round:task', (task: RoundTask) => {
			const w = this.#taskWaiters.shift();
			if (w) w(task);
			else this.tasks.push(task);
		});
		socket.on('round:closed', (c: RoundClosed) => {
			const w = this.#closedWaiters.shift();
			if (w) w(c);
			else this.closed.push(c);
		});
	}

	/** Generates an ML-DSA-65 identity, connects over the websocket transport only and registers with the join token. */
	static async join(serverUrl: string, projectId: string, joinToken: string, kind: 'node' | 'browser' = 'node'): Promise<ProtocolParticipant> {
		const keys = generateDeviceKeypair();
		// Updates must never travel over polling (base64, 1 MB limit: FACTS.md).
		const socket = io(`${serverUrl}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false });
		await new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('connect_error', reject);
		});
		const challenge = ok('auth:challenge', await socket.timeout(30_000).emitWithAck('auth:challenge', { projectId, publicKey: toBase64(keys.publicKey), kind, joinToken }));
		const signature = signMessage(keys.secretKey, loginMessage({ projectId, deviceId: challenge.deviceId, nonce: challenge.nonce }));
		const login = ok(
			'auth:login',
			(await socket.timeout(30_000).emitWithAck('auth:login', {
				deviceId: challenge.deviceId,
				nonce: challenge.nonce,
				signature: toBase64(signature),
				userAgent: 'qflare-bench'
			})) as Reply<LoginReply>
		);
		return new ProtocolParticipant(socket, keys, login);
	}

	get deviceId(): string {
		return this.login.deviceId;
	}

	/** Marks the device ready: the coordinator selects only devices that reported samples. */
	async ready(samples: number, backend: 'wasm' | 'cpu' | 'webgl' | 'webgpu' = 'cpu', reason = 'bench'): Promise<void> {
		ok('device:status', await this.socket.timeout(30_000).emitWithAck('device:status', { backend, backendReason: reason, samples }));
	}

	nextTask(timeoutMs = 600_000): Promise<RoundTask> {
		const queued = this.tasks.shift();
		if (queued) return Promise.resolve(queued);
		return withTimeout(new Promise<RoundTask>((resolve) => this.#taskWaiters.push(resolve)), timeoutMs, 'round:task');
	}

	nextClosed(timeoutMs = 600_000): Promise<RoundClosed> {
		const queued = this.closed.shift();
		if (queued) return Promise.resolve(queued);
		return withTimeout(new Promise<RoundClosed>((resolve) => this.#closedWaiters.push(resolve)), timeoutMs, 'round:closed');
	}

	/** Hashes and signs (round id, model version, SHA-256) exactly as the browser does. */
	prepare(task: RoundTask, payload: Uint8Array, meta: UpdateMeta): PreparedUpdate {
		let t = performance.now();
		const payloadSha256 = sha256Hex(payload);
		const hashMs = performance.now() - t;
		t = performance.now();
		const signature = signMessage(this.keys.secretKey, updateMessage({ roundId: task.roundId, modelVersion: task.modelVersion, payloadSha256 }));
		const signMs = performance.now() - t;
		const envelope: UpdateEnvelope = { roundId: task.roundId, modelVersion: task.modelVersion, ...meta, payloadSha256, signature: toBase64(signature), payload };
		return { envelope, hashMs, signMs };
	}

	async send(update: PreparedUpdate, timeoutMs = 300_000): Promise<{ accepted: number }> {
		const reply = (await this.socket.timeout(timeoutMs).emitWithAck('round:update', update.envelope)) as Reply<{ accepted: number }>;
		return ok('round:update', reply);
	}

	close(): void {
		this.socket.disconnect();
	}
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		p,
		new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))
	]).finally(() => clearTimeout(timer));
}

/** A bench server and the owner's admin API key (bench/servers/qflare-server.ts sets the owner up). */
export interface ApiTarget {
	url: string;
	auth: { apiKey: string; organisationId: string } | null;
}

function authOf(server: ApiTarget): { apiKey: string; organisationId: string } {
	if (!server.auth) throw new Error(`${server.url} has no API key: only qflare-server.ts sets an owner up`);
	return server.auth;
}

export async function api<T>(server: ApiTarget, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
	const res = await fetch(`${server.url}${API_PREFIX}${route}`, {
		method,
		headers: {
			authorization: `Bearer ${authOf(server).apiKey}`,
			...(body === undefined ? {} : { 'content-type': 'application/json' })
		},
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text.slice(0, 500)}`);
	return JSON.parse(text) as T;
}

/** Creates a project in the owner's organisation. */
export function createProject<T>(server: ApiTarget, config: Record<string, unknown>): Promise<T> {
	return api<T>(server, 'POST', `/orgs/${authOf(server).organisationId}/projects`, config);
}

/** A join token of the project with no device limit: every bench participant registers with it. */
export async function joinToken(server: ApiTarget, projectId: string): Promise<string> {
	return (await api<CreatedJoinToken>(server, 'POST', `/projects/${projectId}/join-tokens`, { label: 'bench' })).token;
}
