import { deviceIdFromPublicKey, fromBase64, loginMessage, verifySignature } from '@qflare/pq';
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
	type Project,
	type RoundClosed,
	type RoundTask
} from '@qflare/protocol';
import type { DevicePatch, Store } from '@qflare/store';
import type { Namespace, Server, Socket } from 'socket.io';
import type { ServerMetrics } from '../http/server-metrics';
import { LoginChallenges } from '../identity/login-challenges';
import { EvaluationCollector } from '../local-data/evaluation-collector';
import { featureStatsProblems } from '../local-data/report-checks';
import type { RoundCoordinator } from '../rounds/round-coordinator';
import type { ParticipantChannel } from '../rounds/ports';
import { SerialQueue } from '../rounds/serial-queue';
import type { DashboardNamespace } from './dashboard-namespace';
import { Presence } from './presence';
import { safeHandler } from './safe-handler';

interface SessionData {
	projectId?: string;
	deviceId?: string;
}
type ParticipantSocket = Socket<ParticipantClientEvents, ParticipantServerEvents, Record<string, never>, SessionData>;
type ParticipantNsp = Namespace<ParticipantClientEvents, ParticipantServerEvents, Record<string, never>, SessionData>;

const projectRoom = (projectId: string) => `project:${projectId}`;
const deviceRoom = (projectId: string, deviceId: string) => `device:${projectId}/${deviceId}`;

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
	#coordinator: RoundCoordinator | null = null;

	constructor(
		io: Server,
		private readonly store: Store,
		private readonly dashboard: DashboardNamespace,
		private readonly metrics: ServerMetrics,
		private readonly log: (message: string) => void
	) {
		this.#evaluations = new EvaluationCollector(store, dashboard);
		this.#nsp = io.of(PARTICIPANT_NAMESPACE) as unknown as ParticipantNsp;
		this.#nsp.on('connection', (socket) => this.#attach(socket));
	}

	/** The coordinator needs this channel and this channel needs the coordinator. */
	bindCoordinator(coordinator: RoundCoordinator): void {
		this.#coordinator = coordinator;
	}

	readyDevices(projectId: string): string[] {
		return this.presence.readyDevices(projectId);
	}

	isOnline(projectId: string, deviceId: string): boolean {
		return this.presence.isOnline(projectId, deviceId);
	}

	sendTask(projectId: string, deviceId: string, task: RoundTask): void {
		this.#nsp.to(deviceRoom(projectId, deviceId)).emit('round:task', task);
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

	#attach(socket: ParticipantSocket): void {
		const log = this.log;
		socket.on(
			'auth:challenge',
			safeHandler(log, async (payload): Promise<ChallengeReply> => {
				const req = ChallengeRequest.parse(payload);
				if (!(await this.store.projects.get(req.projectId))) {
					throw new ProtocolError(ErrorCode.UnknownProject, `no project ${req.projectId}`);
				}
				let deviceId: string;
				try {
					deviceId = deviceIdFromPublicKey(fromBase64(req.publicKey));
				} catch (e) {
					throw new ProtocolError(ErrorCode.SchemaInvalid, `publicKey: ${(e as Error).message}`);
				}
				const nonce = this.#challenges.issue({ projectId: req.projectId, deviceId, publicKey: req.publicKey, kind: req.kind });
				return { ok: true, deviceId, nonce };
			})
		);

		socket.on('auth:login', safeHandler(log, (payload) => this.#login(socket, payload)));

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

		socket.on('round:progress', (payload: unknown) => {
			const session = socket.data;
			const parsed = TrainingProgress.safeParse(payload);
			if (!session.projectId || !session.deviceId || !parsed.success) return;
			this.dashboard.progress(session.projectId, { ...parsed.data, deviceId: session.deviceId });
		});

		socket.on(
			'round:update',
			safeHandler(log, async (payload) => {
				const { projectId, deviceId } = this.#session(socket);
				const raw = payload as Record<string, unknown> | null;
				if (raw !== null && typeof raw === 'object' && (raw.signature === undefined || raw.signature === '')) {
					await this.#coordinator?.rejectMalformed(projectId, deviceId);
					throw new ProtocolError(ErrorCode.Unsigned, 'update carries no signature');
				}
				if (!this.#coordinator) throw new ProtocolError(ErrorCode.Internal, 'coordinator not ready');
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
				lastSeen: now
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
		// After the join: an evaluation request sent from here on reaches this socket too.
		this.#coordinator?.deviceLoggedIn(projectId, device.id);
		await this.store.events.append({ projectId, type: 'device.login', message: `device ${device.id} logged in`, data: { kind: device.kind } });
		await this.dashboard.devicesChanged(projectId);
		return {
			ok: true,
			deviceId: device.id,
			shardIndex: device.shardIndex,
			shardPath: project.dataSource === 'demo' ? `${API_PREFIX}/projects/${projectId}/shard?device=${device.id}` : null,
			project: participantView(project)
		};
	}

	/** Stores what a device reported about itself, then its readiness, and tells the dashboard. */
	async #report(project: Project, deviceId: string, patch: DevicePatch): Promise<{ ok: true }> {
		const device = await this.store.devices.update(project.id, deviceId, { ...patch, lastSeen: new Date().toISOString() });
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
		this.#updateReadiness(project, device);
		await this.dashboard.devicesChanged(project.id);
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

	#session(socket: ParticipantSocket): { projectId: string; deviceId: string } {
		const { projectId, deviceId } = socket.data;
		if (!projectId || !deviceId) throw new ProtocolError(ErrorCode.Unauthenticated, 'log in first');
		return { projectId, deviceId };
	}
}
