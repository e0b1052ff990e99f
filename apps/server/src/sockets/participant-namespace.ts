import { deviceIdFromPublicKey, fromBase64, loginMessage, rotateKeyMessage, verifySignature } from '@qflare/pq';
import {
	ChallengeRequest,
	DeviceStatusReport,
	ErrorCode,
	EvaluationReportMessage,
	FeatureStatsReport,
	LoginRequest,
	numericColumns,
	projectTask,
	taskObjective,
	PARTICIPANT_NAMESPACE,
	ProtocolError,
	RotateKeyRequest,
	SecureKeysMessage,
	SecureRevealMessage,
	SecureSharesMessage,
	TrainingProgress,
	UpdateEnvelope,
	API_PREFIX,
	type ChallengeReply,
	type Device,
	type EvaluationTask,
	type LoginReply,
	type ParticipantClientEvents,
	type ParticipantProjectView,
	type ParticipantServerEvents,
	type PeerPresenceReply,
	type Project,
	type RotateKeyReply,
	type RoundClosed,
	type RoundTask
} from '@qflare/protocol';
import type { DevicePatch, Store } from '@qflare/store';
import type { Namespace, Server, Socket } from 'socket.io';
import { addressKey, type RateLimitKind, type RateLimits } from '../auth/rate-limits';
import type { ServerMetrics } from '../http/server-metrics';
import { liveJoinToken } from '../auth/join-tokens';
import { randomSecret, sha256Hex } from '../auth/tokens';
import { LoginChallenges } from '../identity/login-challenges';
import { EvaluationCollector } from '../local-data/evaluation-collector';
import { featureStatsProblems } from '../local-data/report-checks';
import type { Log } from '../logging';
import type { RoundCoordinator } from '../rounds/round-coordinator';
import type { ParticipantChannel, SecureEvent } from '../rounds/ports';
import { SerialQueue } from '../rounds/serial-queue';
import type { DashboardNamespace } from './dashboard-namespace';
import { Presence } from './presence';
import type { Cluster } from '../cluster/cluster';
import { safeHandler } from './safe-handler';
import { socketAddress } from './socket-address';

function decodeSignature(value: string, field: string): Uint8Array {
	try {
		return fromBase64(value);
	} catch {
		throw new ProtocolError(ErrorCode.BadSignature, `${field} is not valid base64`);
	}
}

interface SessionData {
	projectId?: string;
	deviceId?: string;
}
type ParticipantSocket = Socket<ParticipantClientEvents, ParticipantServerEvents, Record<string, never>, SessionData>;
type ParticipantNsp = Namespace<ParticipantClientEvents, ParticipantServerEvents, Record<string, never>, SessionData>;

const projectRoom = (projectId: string) => `project:${projectId}`;
const deviceRoom = (projectId: string, deviceId: string) => `device:${projectId}/${deviceId}`;
const deviceKey = (projectId: string, deviceId: string) => `${projectId}/${deviceId}`;
/** Bytes of an update's binary payload as Socket.IO delivered it (a Buffer in Node); 0 for anything else. */
function binaryLength(value: unknown): number {
	return value instanceof Uint8Array || value instanceof ArrayBuffer ? value.byteLength : 0;
}
const REVOKED_MESSAGE = 'an administrator revoked this device: it can no longer take part in this project';

export function participantView(p: Project): ParticipantProjectView {
	return {
		id: p.id,
		name: p.name,
		dataset: p.dataset,
		model: p.model,
		status: p.status,
		rounds: p.rounds,
		currentRound: p.currentRound,
		modelVersion: p.modelVersion,
		batchSize: p.batchSize,
		seed: p.seed,
		dataSource: p.dataSource,
		task: p.task,
		holdOutFraction: p.holdOutFraction,
		standardization: p.standardization
	};
}

/**
 * Ready to be selected: it has training data, and for local data with numeric columns it has
 * reported their statistics (the project's scaling is merged from them at Start).
 */
function isDeviceReady(project: Project, device: Pick<Device, 'samples' | 'featureStats'>): boolean {
	if (device.samples <= 0) return false;
	if (project.dataSource === 'demo') return true;
	return numericColumns(projectTask(project)).length === 0 || device.featureStats !== null;
}

/** Problems of a device's label histogram for a local project's task; demo histograms come from the shard. */
function labelHistogramProblem(project: Project, histogram: number[] | undefined): string | null {
	if (histogram === undefined || project.dataSource === 'demo') return null;
	const objective = taskObjective(projectTask(project));
	if (objective.type !== 'classification') return 'labelHistogram: a regression task has no labels to count';
	if (histogram.length !== objective.classes.length) {
		return `labelHistogram: ${histogram.length} counts for ${objective.classes.length} classes`;
	}
	return null;
}

/**
 * The participant side of the protocol: challenge-response login with ML-DSA, status reports,
 * progress, and signed updates handed to the RoundCoordinator. Every payload is parsed with the
 * protocol schemas before anything reads it.
 */
export class ParticipantNamespace implements ParticipantChannel {
	readonly presence = new Presence();
	readonly #challenges = new LoginChallenges();
	readonly #registration = new SerialQueue();
	readonly #nsp: ParticipantNsp;
	readonly #evaluations: EvaluationCollector;
	/**
	 * Devices revoked while this process runs: a login that passed its store check just before
	 * the revocation is caught here after it joined the device's room (see #login).
	 */
	readonly #revoked = new Set<string>();
	#coordinator: RoundCoordinator | null = null;

	constructor(
		io: Server,
		private readonly store: Store,
		private readonly dashboard: DashboardNamespace,
		private readonly metrics: ServerMetrics,
		private readonly log: Log,
		private readonly rateLimits: RateLimits,
		/** Believe X-Forwarded-For for the client's address (a reverse proxy in front). */
		private readonly trustProxy: boolean,
		/** The other instances' devices count as present too. */
		private readonly cluster: Cluster
	) {
		this.#evaluations = new EvaluationCollector(store, dashboard);
		cluster.answer('presence', async ({ projectId, deviceId }) => ({
			ready: this.presence.readyDevices(projectId),
			online: deviceId !== undefined && this.presence.isOnline(projectId, deviceId),
			connected: this.presence.onlineDevices(projectId)
		}));
		this.#nsp = io.of(PARTICIPANT_NAMESPACE) as unknown as ParticipantNsp;
		this.#nsp.on('connection', (socket) => this.#attach(socket));
	}

	/** The coordinator needs this channel and this channel needs the coordinator. */
	bindCoordinator(coordinator: RoundCoordinator): void {
		this.#coordinator = coordinator;
	}

	readyDevices(projectId: string): Promise<string[]> {
		return this.#everywhere(projectId, this.presence.readyDevices(projectId), (r) => r.ready);
	}

	onlineDevices(projectId: string): Promise<string[]> {
		return this.#everywhere(projectId, this.presence.onlineDevices(projectId), (r) => r.connected);
	}

	/** This instance's devices of a list and the other instances' (one presence request), sorted. */
	async #everywhere(projectId: string, here: string[], pick: (reply: PeerPresenceReply) => string[]): Promise<string[]> {
		if (this.cluster.mode === 'single') return here.sort();
		const elsewhere = (await this.cluster.ask('presence', { projectId })).flatMap(pick);
		return [...new Set([...here, ...elsewhere])].sort();
	}

	async isOnline(projectId: string, deviceId: string): Promise<boolean> {
		if (this.presence.isOnline(projectId, deviceId)) return true;
		if (this.cluster.mode === 'single') return false;
		return (await this.cluster.ask('presence', { projectId, deviceId })).some((r) => r.online);
	}

	sendTask(projectId: string, deviceId: string, task: RoundTask, options: { local?: boolean } = {}): void {
		(options.local ? this.#nsp.local : this.#nsp).to(deviceRoom(projectId, deviceId)).emit('round:task', task);
	}

	sendSecure<E extends SecureEvent>(projectId: string, deviceId: string, event: E, message: Parameters<ParticipantServerEvents[E]>[0]): void {
		// Socket.IO's typed emit cannot relate a generic event to its argument.
		(this.#nsp.to(deviceRoom(projectId, deviceId)).emit as (event: SecureEvent, message: unknown) => boolean)(event, message);
	}

	sendEvaluation(projectId: string, deviceId: string, task: EvaluationTask): void {
		this.#nsp.to(deviceRoom(projectId, deviceId)).emit('model:evaluate', task);
	}

	announceRoundClosed(projectId: string, closed: RoundClosed): void {
		this.#nsp.to(projectRoom(projectId)).emit('round:closed', closed);
	}

	announceProject(project: Project): void {
		this.#nsp.to(projectRoom(project.id)).emit('project:status', participantView(project));
	}

	/**
	 * Revokes a device for good (the HTTP route calls this and audits it): it is marked revoked
	 * in the store, told so on its sockets, dropped, and the running round stops waiting for it.
	 * Null when the project has no such device; a device revoked before stays as it was.
	 */
	async revokeDevice(projectId: string, deviceId: string): Promise<Device | null> {
		const device = await this.store.devices.get(projectId, deviceId);
		if (!device) return null;
		if (device.revokedAt) return device;
		this.#revoked.add(deviceKey(projectId, deviceId));
		// Serialised with logins and key rotations of the project, so none of them slips past the flag.
		const revoked = await this.#registration.run(projectId, () =>
			this.store.devices.update(projectId, deviceId, { revokedAt: new Date().toISOString(), online: false })
		);
		this.presence.markUnready(projectId, deviceId);
		this.#coordinator?.deviceRevoked(projectId, deviceId);
		const room = deviceRoom(projectId, deviceId);
		// The notice and the disconnect travel in order on each socket, so the device reads why before it is dropped.
		this.#nsp.to(room).emit('device:revoked', { deviceId, message: REVOKED_MESSAGE });
		this.#nsp.in(room).disconnectSockets(false);
		await this.store.events.append({ projectId, type: 'device.revoked', message: `device ${deviceId} revoked`, data: {} });
		this.dashboard.devicesChanged(projectId);
		return revoked;
	}

	#attach(socket: ParticipantSocket): void {
		const log = this.log;
		socket.on('auth:challenge', safeHandler(log, (payload) => this.#challenge(socket, payload)));
		socket.on('auth:login', safeHandler(log, (payload) => this.#login(socket, payload)));
		socket.on('auth:rotate-key', safeHandler(log, (payload) => this.#rotateKey(socket, payload)));

		socket.on(
			'device:status',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				const status = DeviceStatusReport.parse(payload);
				const project = await this.#project(projectId);
				const problem = labelHistogramProblem(project, status.labelHistogram);
				if (problem) throw new ProtocolError(ErrorCode.SchemaInvalid, problem);
				return this.#report(project, deviceId, {
					backend: status.backend,
					backendReason: status.backendReason,
					samples: status.samples,
					// A local device's label counts come only from itself; a demo shard's from the server.
					...(project.dataSource === 'local' ? { labelHistogram: status.labelHistogram ?? null } : {})
				});
			})
		);

		socket.on(
			'data:stats',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				const stats = FeatureStatsReport.parse(payload);
				const project = await this.#project(projectId);
				if (project.dataSource !== 'local') {
					throw new ProtocolError(ErrorCode.Conflict, 'this project trains on demo shards: its devices report no feature statistics');
				}
				const problems = featureStatsProblems(stats, projectTask(project));
				if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, problems.join('; '));
				// Kept even after the project started; the scaling merged at Start stays as it is.
				return this.#report(project, deviceId, { featureStats: stats });
			})
		);

		socket.on(
			'eval:report',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				const report = EvaluationReportMessage.parse(payload);
				const reply = await this.#evaluations.submit(projectId, deviceId, report);
				this.#coordinator?.evaluationReported(projectId, report.roundId, deviceId);
				return reply;
			})
		);

		// Secure aggregation's exchange: validated here, checked against the round by the coordinator.
		socket.on(
			'secagg:keys',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				return this.#secureCoordinator().secureKeys(projectId, deviceId, SecureKeysMessage.parse(payload));
			})
		);
		socket.on(
			'secagg:shares',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				return this.#secureCoordinator().secureShares(projectId, deviceId, SecureSharesMessage.parse(payload));
			})
		);
		socket.on(
			'secagg:reveal',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				return this.#secureCoordinator().secureReveal(projectId, deviceId, SecureRevealMessage.parse(payload));
			})
		);

		socket.on('round:progress', (payload: unknown) => {
			const session = socket.data;
			const parsed = TrainingProgress.safeParse(payload);
			if (!session.projectId || !session.deviceId || !parsed.success) return;
			this.dashboard.progress(session.projectId, { ...parsed.data, deviceId: session.deviceId });
		});

		socket.on(
			'round:update',
			safeHandler(log, async (payload) => {
				const raw = payload as Record<string, unknown> | null;
				// Counted as it arrives, before any check: the bytes this instance had to take in, accepted or not.
				if (raw !== null && typeof raw === 'object') this.metrics.bytesReceived(binaryLength(raw.payload));
				const { projectId, deviceId } = this.#session(socket);
				if (raw !== null && typeof raw === 'object' && (raw.signature === undefined || raw.signature === '')) {
					await this.#coordinator?.rejectMalformed(projectId, deviceId);
					throw new ProtocolError(ErrorCode.Unsigned, 'update carries no signature');
				}
				if (!this.#coordinator) throw new ProtocolError(ErrorCode.Internal, 'coordinator not ready');
				if (this.#revoked.has(deviceKey(projectId, deviceId))) throw new ProtocolError(ErrorCode.DeviceRevoked, REVOKED_MESSAGE);
				const envelope = UpdateEnvelope.safeParse(payload);
				if (!envelope.success) {
					await this.#coordinator.rejectMalformed(projectId, deviceId);
					throw envelope.error;
				}
				return this.#coordinator.submitUpdate(projectId, deviceId, envelope.data);
			}, (reply) => this.metrics.update(reply.ok ? 'accepted' : reply.code))
		);

		socket.on('disconnect', () => {
			const { projectId, deviceId } = socket.data;
			if (!projectId || !deviceId) return;
			if (!this.presence.disconnect(projectId, deviceId, socket.id)) return;
			this.#coordinator?.deviceLeft(projectId, deviceId);
			void this.store.devices
				.update(projectId, deviceId, { online: false, lastSeen: new Date().toISOString() })
				.then(() => this.dashboard.devicesChanged(projectId))
				.catch((e: unknown) => log(`could not mark ${deviceId} offline: ${String(e)}`));
		});
	}

	/**
	 * A login nonce for a key. A registered device (its id derived from the key, or given after
	 * a key rotation) must present its current key and not be revoked; a new device needs a valid
	 * join token of the project, which is claimed when its login succeeds. An unknown project is
	 * answered like a bad join token (and counted as one), so project ids cannot be probed.
	 */
	async #challenge(socket: ParticipantSocket, payload: unknown): Promise<ChallengeReply> {
		const req = ChallengeRequest.parse(payload);
		const address = addressKey(socketAddress(socket, this.trustProxy));
		await this.#limit('challenge', address, 'too many logins from this address');
		let derivedId: string;
		try {
			derivedId = deviceIdFromPublicKey(fromBase64(req.publicKey));
		} catch (e) {
			throw new ProtocolError(ErrorCode.SchemaInvalid, `publicKey: ${(e as Error).message}`);
		}
		const deviceId = req.deviceId ?? derivedId;
		const project = await this.store.projects.get(req.projectId);
		const known = project ? await this.store.devices.get(project.id, deviceId) : null;
		if (known) {
			if (known.revokedAt) throw new ProtocolError(ErrorCode.DeviceRevoked, REVOKED_MESSAGE);
			// After a rotation the old key still derives the device's id: it must not log in any more.
			if (known.publicKey !== req.publicKey) throw new ProtocolError(ErrorCode.Unauthenticated, `this is not the current key of device ${deviceId}`);
			const nonce = this.#challenges.issue({ projectId: known.projectId, deviceId, publicKey: req.publicKey, kind: req.kind, joinTokenId: null });
			return { ok: true, deviceId, nonce };
		}
		// Only a registered device can carry an id that its key does not derive (the same answer with or without the project).
		if (deviceId !== derivedId) throw new ProtocolError(ErrorCode.UnknownDevice, `no device ${deviceId} in this project`);
		await this.#limit('registration', address, 'too many new devices from this address');
		// No join token is live for a project that does not exist: JOIN_TOKEN_INVALID, counted against the address.
		const joinTokenId = await this.#usableJoinToken(req.projectId, req.joinToken, address);
		const nonce = this.#challenges.issue({ projectId: req.projectId, deviceId, publicKey: req.publicKey, kind: req.kind, joinTokenId });
		return { ok: true, deviceId, nonce };
	}

	/** The id of a join token that may register one more device in the project, else JOIN_TOKEN_INVALID. */
	async #usableJoinToken(projectId: string, token: string | undefined, address: string): Promise<string> {
		// An address that guessed wrong too often is refused before its next guess is even looked at.
		const blocked = await this.rateLimits.check('badJoinToken', address);
		if (!blocked.ok) throw new ProtocolError(ErrorCode.RateLimited, `too many invalid join links from this address; try again in ${blocked.retryAfterSec} s`);
		const record = token ? await liveJoinToken(this.store, projectId, token) : null;
		// Checked again, atomically, when the slot is claimed at login; this spares a doomed signature.
		const full = record !== null && record.maxDevices !== null && record.devicesJoined >= record.maxDevices;
		if (record && !full) return record.id;
		if (!full) await this.rateLimits.consume('badJoinToken', address);
		throw new ProtocolError(
			ErrorCode.JoinTokenInvalid,
			!token
				? 'this project is invite-only: join with the link or QR code the coordinator gave you'
				: full
					? 'this join link already registered as many devices as it allows'
					: 'this join link is not valid (revoked, expired or for another project)'
		);
	}

	async #limit(kind: RateLimitKind, key: string, what: string): Promise<void> {
		const decision = await this.rateLimits.consume(kind, key);
		if (!decision.ok) throw new ProtocolError(ErrorCode.RateLimited, `${what}; try again in ${decision.retryAfterSec} s`);
	}

	async #login(socket: ParticipantSocket, payload: unknown): Promise<LoginReply> {
		const req = LoginRequest.parse(payload);
		const challenge = this.#challenges.take(req.nonce, req.deviceId);
		if (!challenge) throw new ProtocolError(ErrorCode.Unauthenticated, 'unknown, used or expired login nonce');
		let signature: Uint8Array;
		try {
			signature = fromBase64(req.signature);
		} catch {
			throw new ProtocolError(ErrorCode.BadSignature, 'login signature is not valid base64');
		}
		const message = loginMessage({ projectId: challenge.projectId, deviceId: req.deviceId, nonce: req.nonce });
		if (!verifySignature(fromBase64(challenge.publicKey), message, signature)) {
			throw new ProtocolError(ErrorCode.BadSignature, 'login signature does not verify');
		}
		const projectId = challenge.projectId;
		const device = await this.#registration.run(projectId, async () => {
			const project = await this.#project(projectId);
			const now = new Date().toISOString();
			const known = await this.store.devices.get(projectId, req.deviceId);
			if (known) {
				if (known.revokedAt) throw new ProtocolError(ErrorCode.DeviceRevoked, REVOKED_MESSAGE);
				// The key was rotated between this challenge and the login.
				if (known.publicKey !== challenge.publicKey) throw new ProtocolError(ErrorCode.Unauthenticated, 'the device key changed: log in again');
				const updated = await this.store.devices.update(projectId, req.deviceId, {
					online: true,
					lastSeen: now,
					userAgent: req.userAgent,
					// The data may have been deleted or replaced since the last session; a device with
					// data sends its statistics again right after logging in, so Start merges only
					// statistics of the data the device holds now.
					...(project.dataSource === 'local' ? { featureStats: null } : {})
				});
				return updated ?? known;
			}
			// The slot is taken only now, when the device proved it holds its key: a challenge alone uses up nothing.
			const claimed = challenge.joinTokenId ? await this.store.joinTokens.claimDevice(challenge.joinTokenId, now) : null;
			if (!claimed) throw new ProtocolError(ErrorCode.JoinTokenInvalid, 'this join link can register no more devices (revoked, expired or used up)');
			const count = await this.store.devices.countByProject(projectId);
			return this.store.devices.upsert({
				id: req.deviceId,
				projectId,
				publicKey: challenge.publicKey,
				kind: challenge.kind,
				online: true,
				backend: null,
				backendReason: null,
				samples: 0,
				shardIndex: count % project.shardCount,
				userAgent: req.userAgent,
				registeredAt: now,
				lastSeen: now,
				keyCreatedAt: now,
				revokedAt: null,
				joinTokenId: claimed.id
			});
		});
		const project = await this.#project(projectId);

		socket.data.projectId = projectId;
		socket.data.deviceId = device.id;
		this.presence.connect(projectId, device.id, socket.id);
		// A reload's old socket may have made the device ready with the statistics just forgotten:
		// it is not selected until this session reports them (data:stats marks it ready again).
		if (!isDeviceReady(project, device)) this.presence.markUnready(projectId, device.id);
		await socket.join([projectRoom(projectId), deviceRoom(projectId, device.id)]);
		if (this.#revoked.has(deviceKey(projectId, device.id))) {
			// Revoked while this login was under way, after its own check: it missed the notice and
			// the disconnect, so it is undone here and the refusal is its answer.
			socket.data.projectId = undefined;
			socket.data.deviceId = undefined;
			this.presence.disconnect(projectId, device.id, socket.id);
			await Promise.all([socket.leave(projectRoom(projectId)), socket.leave(deviceRoom(projectId, device.id))]);
			throw new ProtocolError(ErrorCode.DeviceRevoked, REVOKED_MESSAGE);
		}
		// After the join: an evaluation request sent from here on reaches this socket too.
		this.#coordinator?.deviceLoggedIn(projectId, device.id);
		await this.store.events.append({ projectId, type: 'device.login', message: `device ${device.id} logged in`, data: { kind: device.kind } });
		this.dashboard.devicesChanged(projectId);
		return {
			ok: true,
			deviceId: device.id,
			shardIndex: device.shardIndex,
			shardPath: project.dataSource === 'demo' ? await this.#shardPath(projectId, device.id) : null,
			project: participantView(project)
		};
	}

	/**
	 * The device's shard link with a fresh access token: only its hash is stored, and each login
	 * replaces it, so a link that leaked stops working at the device's next login.
	 */
	async #shardPath(projectId: string, deviceId: string): Promise<string> {
		const access = randomSecret();
		await this.store.devices.setAccessTokenHash(projectId, deviceId, sha256Hex(access));
		const query = new URLSearchParams({ device: deviceId, access });
		return `${API_PREFIX}/projects/${encodeURIComponent(projectId)}/shard?${query}`;
	}

	/**
	 * Replaces a logged-in device's key. The old key's signature shows the holder of the device
	 * rotates it; the new key's shows the device holds the new secret key. The id stays.
	 */
	async #rotateKey(socket: ParticipantSocket, payload: unknown): Promise<RotateKeyReply> {
		const { projectId, deviceId } = this.#session(socket);
		const req = RotateKeyRequest.parse(payload);
		let newKey: Uint8Array;
		try {
			newKey = fromBase64(req.newPublicKey);
			deviceIdFromPublicKey(newKey);
		} catch (e) {
			throw new ProtocolError(ErrorCode.SchemaInvalid, `newPublicKey: ${(e as Error).message}`);
		}
		const signature = decodeSignature(req.signature, 'signature');
		const newSignature = decodeSignature(req.newSignature, 'newSignature');
		const message = rotateKeyMessage({ projectId, deviceId, newPublicKey: req.newPublicKey });
		const project = await this.#project(projectId);
		const keyCreatedAt = await this.#registration.run(projectId, async () => {
			const device = await this.store.devices.get(projectId, deviceId);
			if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
			if (device.revokedAt) throw new ProtocolError(ErrorCode.DeviceRevoked, REVOKED_MESSAGE);
			if (device.publicKey === req.newPublicKey) throw new ProtocolError(ErrorCode.Conflict, 'the new key is the current key');
			if (!verifySignature(fromBase64(device.publicKey), message, signature)) {
				throw new ProtocolError(ErrorCode.BadSignature, 'the key rotation is not signed by the current key');
			}
			if (!verifySignature(newKey, message, newSignature)) {
				throw new ProtocolError(ErrorCode.BadSignature, 'the key rotation is not signed by the new key');
			}
			const now = new Date().toISOString();
			await this.store.devices.update(projectId, deviceId, { publicKey: req.newPublicKey, keyCreatedAt: now });
			return now;
		});
		await this.store.audit.append({
			organisationId: project.organisationId,
			actor: { type: 'device', id: deviceId, label: deviceId },
			action: 'device.keyRotated',
			target: { type: 'device', id: deviceId },
			address: socketAddress(socket, this.trustProxy),
			details: { projectId }
		});
		await this.store.events.append({ projectId, type: 'device.keyRotated', message: `device ${deviceId} rotated its key`, data: {} });
		this.dashboard.devicesChanged(projectId);
		return { ok: true, keyCreatedAt };
	}

	/** Stores what a device reported about itself, then its readiness, and tells the dashboard. */
	async #report(project: Project, deviceId: string, patch: DevicePatch): Promise<{ ok: true }> {
		const device = await this.store.devices.update(project.id, deviceId, { ...patch, lastSeen: new Date().toISOString() });
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
		this.#updateReadiness(project, device);
		this.dashboard.devicesChanged(project.id);
		return { ok: true };
	}

	#updateReadiness(project: Project, device: Device): void {
		if (!this.presence.isOnline(project.id, device.id)) return;
		if (isDeviceReady(project, device)) {
			this.presence.markReady(project.id, device.id);
			void this.#coordinator?.deviceReady(project.id, device.id);
		} else {
			this.presence.markUnready(project.id, device.id);
		}
	}

	async #project(projectId: string): Promise<Project> {
		const project = await this.store.projects.get(projectId);
		if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
		return project;
	}

	#secureCoordinator(): RoundCoordinator {
		if (!this.#coordinator) throw new ProtocolError(ErrorCode.Internal, 'coordinator not ready');
		return this.#coordinator;
	}

	#session(socket: ParticipantSocket): { projectId: string; deviceId: string } {
		const { projectId, deviceId } = socket.data;
		if (!projectId || !deviceId) throw new ProtocolError(ErrorCode.Unauthenticated, 'log in first');
		return { projectId, deviceId };
	}
}
