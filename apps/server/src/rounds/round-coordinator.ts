import {
	applyDelta,
	createStrategy,
	decodePartialAggregate,
	decodeServerOptimizerState,
	encodePartialAggregate,
	encodeServerOptimizerState,
	epsilonAfterRounds,
	trustScore,
	updateTrust
} from '@qflare/fl';
import {
	decodeMaskedWords,
	encodeWeights,
	ErrorCode,
	projectTask,
	ProtocolError,
	type ModelRecord,
	type ParsedUpdateEnvelope,
	type PeerCommand,
	type PeerCommandReply,
	type PeerPartialReply,
	type Project,
	type Round,
	type RoundPrivacy,
	type RoundStatus,
	type SecureKeysMessage,
	type SecureRevealMessage,
	type SecureRoundSummary,
	type SecureSharesMessage,
	type UpdateAccepted,
	type UpdateRecord
} from '@qflare/protocol';
import { DuplicateKeyError, type ProjectPatch, type Store, type UpdatePayload } from '@qflare/store';
import { SingleInstance, type Cluster } from '../cluster/cluster';
import { EvaluationRequests } from '../local-data/evaluation-requests';
import { mergeStandardization } from '../local-data/standardization';
import { ActiveRound } from './active-round';
import { MembershipAuditor } from './membership-audit';
import type { DashboardFeed, ModelService, ParticipantChannel } from './ports';
import { clientPlan, selectDevices } from './round-plan';
import { SerialQueue } from './serial-queue';
import { failpoint } from './failpoints';
import { screenPayload, verifySignedEnvelope, verifyUpdate } from './verify-update';
import { SecureAggregationRound, type SecureChannel } from './secure-round';
import { randomBytes } from 'node:crypto';
import type { VerifierPool } from './verifier-pool';

/** Ids a log line is about, for structured logs; a plain logger may ignore them. */
export type LogFields = Record<string, string | number | boolean | null>;

/** What the coordinator reports to the server's metrics (ServerMetrics implements it; bytes received are counted at the socket). */
export interface CoordinatorMetrics {
	round(status: 'committed' | 'failed'): void;
	roundFinished(status: 'committed' | 'failed', seconds: number): void;
	updateVerified(seconds: number): void;
	updateFolded(seconds: number): void;
	/** Writing an accepted update (payload, record, round) before its ack. */
	updateDurable(seconds: number): void;
}

export interface RoundCoordinatorDeps {
	store: Store;
	models: ModelService;
	participants: ParticipantChannel;
	feed: DashboardFeed;
	log?: (message: string, fields?: LogFields) => void;
	now?: () => Date;
	/** Default DROPOUT_GRACE_MS. */
	dropoutGraceMs?: number;
	metrics?: CoordinatorMetrics;
	/** The instances sharing the store; default: this process alone. */
	cluster?: Cluster;
	/** Cluster only: how often to look for running projects nobody leads (default 3 s). */
	leaseCheckMs?: number;
	/** Checks signatures and digests off the main thread; default: on it. */
	verifier?: VerifierPool | null;
}

/** The round began to close while an update was being checked; the update is not taken. */
class RoundClosedWhileChecking extends ProtocolError {
	constructor() {
		super(ErrorCode.RoundClosed, 'the round closed while the update was being checked');
	}
}

/** How often a leader logs which devices a round still waits for. */
const WAITING_LOG_MS = 30_000;

/** How long a selected device may be offline mid-round (a reload, a flaky network) before it counts as dropped. */
export const DROPOUT_GRACE_MS = 20_000;

/**
 * Why a secure project does not run with several instances: the key exchange and the masked sum
 * live in the leader's memory, and devices on other instances would need every relay forwarded.
 */
const SECURE_NEEDS_ONE_INSTANCE = 'secure aggregation runs on a single instance; this server runs several (REDIS_URL)';

export interface UpdateResult extends UpdateAccepted {
	duplicate: boolean;
}

/**
 * Drives each project's rounds: open -> training -> aggregating -> committed (or failed).
 * Every transition is persisted before it is announced; updates are folded into a streaming
 * FedAvg accumulator as they arrive, so memory does not grow with the number of participants.
 * An update is acknowledged only once its payload and record are in the store, so a restarted
 * process rebuilds the accumulator from them and asks no acknowledged device again.
 */
export class RoundCoordinator {
	readonly #active = new Map<string, ActiveRound>();
	/** Each project's last aggregate delta, the reference for the trust score's distance. */
	readonly #lastAggregate = new Map<string, Float32Array>();
	readonly #evaluations: EvaluationRequests;
	/** Demo projects: the membership-inference audit of each committed model, run after the commit. */
	readonly #membershipAuditor: MembershipAuditor;
	readonly #queue = new SerialQueue();
	readonly #log: (message: string, fields?: LogFields) => void;
	readonly #now: () => Date;
	readonly #cluster: Cluster;
	/** Follower rounds being loaded, so concurrent updates load a round once. */
	readonly #preparing = new Map<string, Promise<ActiveRound | null>>();
	/** Cluster: devices to send a round's task to, gathered over one tick. */
	readonly #taskBatches = new Map<ActiveRound, string[]>();
	#claimTimer: NodeJS.Timeout | null = null;

	constructor(private readonly deps: RoundCoordinatorDeps) {
		this.#log = deps.log ?? (() => {});
		this.#now = deps.now ?? (() => new Date());
		this.#evaluations = new EvaluationRequests(deps.store, deps.participants);
		this.#membershipAuditor = new MembershipAuditor({ store: deps.store, models: deps.models, feed: deps.feed, log: this.#log });
		this.#cluster = deps.cluster ?? new SingleInstance('local');
		this.#listenToPeers();
	}

	/**
	 * Picks up projects that were running when the process stopped. With several instances, it
	 * picks up those nobody leads, now and every leaseCheckMs: that is how a dead leader's
	 * project moves to another instance.
	 */
	async resume(): Promise<void> {
		if (this.#cluster.mode === 'cluster') {
			await this.#claimLeaderless();
			this.#claimTimer ??= setInterval(
				() => {
					void this.#claimLeaderless().catch((e: unknown) => this.#log(`claiming leaderless projects failed: ${String(e)}`));
					void this.#reconcile().catch((e: unknown) => this.#log(`reconciling rounds with the store failed: ${String(e)}`));
				},
				this.deps.leaseCheckMs ?? 3_000
			);
			return;
		}
		for (const project of await this.deps.store.projects.list()) {
			if (project.status !== 'running') continue;
			await this.#queue.run(project.id, () => this.#resumeProject(project));
		}
	}

	/**
	 * Cluster: counts every durable update of the rounds this instance leads, whether or not its
	 * notice arrived. A notice is lost when it is sent while no instance leads (the old leader died,
	 * the new one is still rebuilding the round), and its device, acknowledged, will not send again.
	 */
	async #reconcile(): Promise<void> {
		for (const active of [...this.#active.values()]) {
			if (active.role !== 'leader' || active.finishing || active.round.status !== 'training') continue;
			const { projectId, id: roundId } = active.round;
			for (const record of await this.deps.store.updates.listByRound(roundId)) {
				if (active.finishing || !active.selected.has(record.deviceId) || active.acceptedHash(record.deviceId) !== undefined || active.pending.has(record.deviceId)) continue;
				this.#countRemote(active, record.deviceId, record.payloadSha256, record.numSamples);
			}
			await this.#graceOffline(active);
			this.#maybeFinish(projectId, active);
			const waiting = [...active.selected].filter((d) => active.isWaitingFor(d));
			if (waiting.length > 0 && Date.now() - active.waitingLoggedAt >= WAITING_LOG_MS) {
				active.waitingLoggedAt = Date.now();
				this.#log(`round ${active.round.number} of ${projectId} waits for ${waiting.length} of ${active.selected.size} devices (${[...active.pending].length} being checked): ${waiting.slice(0, 10).join(', ')}${waiting.length > 10 ? ', ...' : ''}`, {
					projectId,
					roundId
				});
			}
		}
	}

	/**
	 * Selected devices still owing an update that are offline on every instance get the dropout
	 * grace, as if they had just left: a device that left during a restart, or whose instance died
	 * (which leaves no disconnect anywhere).
	 */
	async #graceOffline(active: ActiveRound): Promise<void> {
		const projectId = active.round.projectId;
		const online = new Set(await this.deps.participants.onlineDevices(projectId));
		for (const deviceId of active.selected) {
			if (!online.has(deviceId) && active.isWaitingFor(deviceId) && !active.leaving.has(deviceId) && !active.pending.has(deviceId)) this.deviceLeft(projectId, deviceId);
		}
	}

	/** An update another instance made durable: counted toward the round, folded at the close from that instance's sums or the store. */
	#countRemote(active: ActiveRound, deviceId: string, payloadSha256: string, numSamples: number): void {
		active.rejected.delete(deviceId);
		active.remote.set(deviceId, payloadSha256);
		// Awaited by the close, like the leader's own writes, so no write to the round record races its transition.
		const noted = this.#noteAccepted(active, deviceId, numSamples).catch((e: unknown) =>
			this.#log(`round ${active.round.number} of ${active.round.projectId}: could not count the update of ${deviceId}: ${String(e)}`, {
				projectId: active.round.projectId,
				roundId: active.round.id,
				deviceId
			})
		);
		active.persisting.add(noted);
		void noted.finally(() => active.persisting.delete(noted));
	}

	async #claimLeaderless(): Promise<void> {
		for (const project of await this.deps.store.projects.list()) {
			if (project.status !== 'running' || this.#cluster.fence(project.id) !== null) continue;
			await this.#queue.run(project.id, async () => {
				if (this.#cluster.fence(project.id) !== null) return;
				const fence = await this.#cluster.lead(project.id);
				if (fence === null) return;
				this.#log(`leading project ${project.id} (fencing token ${fence})`, { projectId: project.id, fence });
				// What this instance folded as a follower is durable: the leader's round is rebuilt from the store.
				this.#dropRound(project.id);
				const current = await this.deps.store.projects.get(project.id);
				if (current?.status === 'running') await this.#resumeProject(current);
			});
		}
	}

	async #resumeProject(project: Project): Promise<void> {
		const latest = await this.deps.store.rounds.current(project.id);
		if (project.secureAggregation && this.#cluster.mode === 'cluster') {
			// Started on a single instance, now picked up by a cluster: stopped, as a start would be refused.
			if (latest && (latest.status === 'open' || latest.status === 'training' || latest.status === 'aggregating')) {
				await this.#fail(latest, latest.status, SECURE_NEEDS_ONE_INSTANCE);
			}
			this.#announceProject(await this.#updateProject(project.id, { status: 'stopped' }));
			await this.#event(project.id, 'project.stopped', SECURE_NEEDS_ONE_INSTANCE);
			await this.#resign(project.id);
			return;
		}
		if (latest && (latest.status === 'training' || latest.status === 'aggregating')) {
			await this.#resumeRound(project, latest);
			return;
		}
		if (latest && (latest.status === 'committed' || latest.status === 'failed')) await this.#settleEnded(project, latest);
		if (latest?.status === 'open') {
			await this.#trySelect(project.id);
			return;
		}
		await this.#openNextRound(project.id);
	}

	/** Runs a start or stop here when this instance leads the project (or nobody does), else on the leader. */
	async #onLeader(projectId: string, command: PeerCommand['command'], run: () => Promise<Project>): Promise<Project> {
		if ((await this.#cluster.lead(projectId)) !== null) {
			try {
				return await run();
			} finally {
				// Only a running project keeps a leader (a refused start, a stop).
				if ((await this.deps.store.projects.get(projectId))?.status !== 'running') await this.#resign(projectId);
			}
		}
		const handled = (await this.#cluster.ask('project:command', { projectId, command })).find((r) => r.handled);
		if (!handled) throw new ProtocolError(ErrorCode.Conflict, 'the instance leading this project did not answer; try again');
		if (handled.handled && handled.error) throw new ProtocolError(handled.error.code, handled.error.message);
		return this.#project(projectId);
	}

	start(projectId: string): Promise<Project> {
		return this.#onLeader(projectId, 'start', () => this.#start(projectId));
	}

	stop(projectId: string): Promise<Project> {
		return this.#onLeader(projectId, 'stop', () => this.#stop(projectId));
	}

	#start(projectId: string): Promise<Project> {
		return this.#queue.run(projectId, async () => {
			const project = await this.#project(projectId);
			if (project.status === 'running') return project;
			if (project.modelVersion >= project.rounds) {
				throw new ProtocolError(ErrorCode.Conflict, `project already ran its ${project.rounds} rounds`);
			}
			if (project.secureAggregation && this.#cluster.mode === 'cluster') throw new ProtocolError(ErrorCode.Conflict, SECURE_NEEDS_ONE_INSTANCE);
			if (project.dataSource === 'local' && project.standardization === null) {
				const standardization = await mergeStandardization(this.deps.store, project);
				if (standardization) {
					await this.#updateProject(projectId, { standardization });
					await this.#event(
						projectId,
						'project.standardized',
						`feature statistics of ${standardization.devices} devices (${standardization.rows} rows) merged for ${Object.keys(standardization.columns).length} columns`
					);
				}
			}
			if (!(await this.deps.store.models.get(projectId, project.modelVersion))) {
				await this.#saveInitialModel(project);
			}
			const running = await this.#updateProject(projectId, { status: 'running' });
			await this.#event(projectId, 'project.started', `project started at model v${running.modelVersion}`);
			this.#announceProject(running);
			await this.#openNextRound(projectId);
			return this.#project(projectId);
		});
	}

	#stop(projectId: string): Promise<Project> {
		return this.#queue.run(projectId, async () => {
			const project = await this.#project(projectId);
			if (project.status !== 'running') return project;
			const stopped = await this.#updateProject(projectId, { status: 'stopped' });
			const latest = await this.deps.store.rounds.current(projectId);
			if (latest && (latest.status === 'open' || latest.status === 'training')) {
				await this.#fail(latest, latest.status, 'stopped by the coordinator');
			}
			await this.#event(projectId, 'project.stopped', 'project stopped by the coordinator');
			this.#announceProject(stopped);
			await this.#resign(projectId);
			return stopped;
		});
	}

	/**
	 * A device logged in or reported its status: it may complete a quorum, need its task again,
	 * or still owe a score of the latest committed model.
	 */
	deviceReady(projectId: string, deviceId: string): Promise<void> {
		if (!this.#leads(projectId)) this.#cluster.tell('device:event', { projectId, deviceId, kind: 'ready' });
		return this.#queue
			.run(projectId, async () => {
				if (this.#leads(projectId)) await this.#leaderDeviceReady(projectId, deviceId);
				// Asked by the instance that holds the device's socket, whoever leads.
				await this.#evaluations.deviceReady(await this.#project(projectId), deviceId);
			})
			.catch((e: unknown) => this.#log(`deviceReady failed for ${projectId}: ${String(e)}`, { projectId, deviceId }));
	}

	async #leaderDeviceReady(projectId: string, deviceId: string): Promise<void> {
		const active = this.#leaderRound(projectId);
		if (!active) {
			await this.#trySelect(projectId);
			return;
		}
		const leaving = active.leaving.get(deviceId);
		if (leaving) clearTimeout(leaving);
		active.leaving.delete(deviceId);
		// Back before the round closed: it may still contribute.
		if (!active.finishing) active.dropped.delete(deviceId);
		if (active.round.status === 'training' && !active.finishing && active.isWaitingFor(deviceId)) this.#sendTask(active, deviceId);
	}

	/** A device logged in on a new socket, which has seen no evaluation request (see EvaluationRequests) nor a secure round's relays. */
	deviceLoggedIn(projectId: string, deviceId: string): void {
		this.#evaluations.deviceLoggedIn(projectId, deviceId);
		this.#leaderRound(projectId)?.secure?.resend(deviceId);
	}

	/** Secure aggregation, phase 1: a device's signed ML-KEM keys. */
	async secureKeys(projectId: string, deviceId: string, message: SecureKeysMessage): Promise<{ ok: true }> {
		const secure = this.#secureRound(projectId, message.roundId);
		const device = await this.deps.store.devices.get(projectId, deviceId);
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
		secure.acceptKeys(deviceId, device.publicKey, message);
		return { ok: true };
	}

	/** Secure aggregation, phase 2: a device's ciphertexts and sealed share envelopes for its neighbours. */
	secureShares(projectId: string, deviceId: string, message: SecureSharesMessage): { ok: true } {
		this.#secureRound(projectId, message.roundId).acceptShares(deviceId, message);
		return { ok: true };
	}

	/** Secure aggregation, phase 4: a survivor's shares for removing the masks from the sum. */
	secureReveal(projectId: string, deviceId: string, message: SecureRevealMessage): { ok: true } {
		this.#secureRound(projectId, message.roundId).acceptReveal(deviceId, message);
		return { ok: true };
	}

	#secureRound(projectId: string, roundId: string): SecureAggregationRound {
		const active = this.#leaderRound(projectId);
		if (!active || active.round.id !== roundId) throw new ProtocolError(ErrorCode.RoundClosed, `round ${roundId} is not running here`);
		if (!active.secure) throw new ProtocolError(ErrorCode.Conflict, 'this round does not use secure aggregation');
		return active.secure;
	}

	/** A device's evaluation of a committed round was stored: it is no longer waited for. */
	evaluationReported(projectId: string, roundId: string, deviceId: string): void {
		this.#evaluations.reported(projectId, roundId, deviceId);
	}

	/**
	 * Verifies and folds one update. Throws ProtocolError for anything it rejects; a rejected
	 * update leaves nothing behind but the fact that this device is done for the round.
	 */
	async submitUpdate(projectId: string, deviceId: string, envelope: ParsedUpdateEnvelope): Promise<UpdateResult> {
		// Read from the store first, so no await falls between the checks of the round's state
		// below and this device becoming pending.
		const device = await this.deps.store.devices.get(projectId, deviceId);
		const project = await this.deps.store.projects.get(projectId);
		// Before the round checks: a revoked device learns why, whatever the round's state.
		if (device?.revokedAt) throw new ProtocolError(ErrorCode.DeviceRevoked, 'this device was revoked: its updates are refused');
		let active = this.#active.get(projectId);
		if (this.#cluster.mode === 'cluster') {
			if (!this.#leads(projectId) && active?.round.id !== envelope.roundId) active = await this.#followerRound(projectId, envelope.roundId);
			// Another instance may hold this device's update (it re-sent after its instance died).
			const earlier = await this.deps.store.updates.findByRoundAndDevice(envelope.roundId, deviceId);
			if (earlier?.payloadSha256 === envelope.payloadSha256) {
				const round = await this.deps.store.rounds.get(envelope.roundId);
				return { ok: true, roundId: envelope.roundId, accepted: round?.accepted.length ?? 1, duplicate: true };
			}
			if (earlier) throw new ProtocolError(ErrorCode.Replay, 'this device already submitted an update for the round');
		}
		if (!active || active.round.status !== 'training' || active.finishing) {
			// A re-send of an update the round already holds (its ack lost to a crash or a dropped
			// socket) is acknowledged again even after the round closed: a resumed round that had
			// every update closes before the devices reconnect to re-send.
			const earlier = await this.#acceptedEarlier(active, envelope.roundId, deviceId, envelope.payloadSha256);
			if (earlier !== null) return { ok: true, roundId: envelope.roundId, accepted: earlier, duplicate: true };
			throw new ProtocolError(ErrorCode.RoundClosed, 'no round of this project is accepting updates');
		}
		const round = active.round;
		if (envelope.roundId !== round.id) {
			throw new ProtocolError(ErrorCode.WrongRound, `update is for round ${envelope.roundId}, the open round is ${round.id}`);
		}
		if (!active.selected.has(deviceId)) throw new ProtocolError(ErrorCode.NotSelected, 'this device was not selected for the round');
		const acceptedHash = active.acceptedHash(deviceId);
		if (acceptedHash === envelope.payloadSha256) {
			// A re-send after a lost ack: already counted once.
			return { ok: true, roundId: round.id, accepted: active.accepted.size + active.remote.size, duplicate: true };
		}
		if (acceptedHash !== undefined || active.pending.has(deviceId)) {
			throw new ProtocolError(ErrorCode.Replay, 'this device already submitted an update for the round');
		}
		if (active.acceptedHashes.has(envelope.payloadSha256)) {
			throw new ProtocolError(ErrorCode.Replay, 'this payload was already submitted by another device');
		}
		if (active.rejected.has(deviceId)) {
			throw new ProtocolError(ErrorCode.RoundClosed, "this device's update for the round was already rejected");
		}
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
		if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);

		active.pending.add(deviceId);
		let distance: number | null = null;
		let foldIndex: number;
		let masked: Uint32Array | null = null;
		try {
			if (active.secure) {
				const secure = active.secure;
				secure.checkUpload(deviceId);
				await verifySignedEnvelope(
					envelope,
					{ roundId: round.id, modelVersion: round.baseModelVersion, devicePublicKey: Buffer.from(device.publicKey, 'base64') },
					this.deps.verifier ?? null
				);
				if (active.finishing) {
					active.pending.delete(deviceId);
					throw new RoundClosedWhileChecking();
				}
				const words = decodeMaskedWords(envelope.payload);
				secure.addMasked(deviceId, words);
				masked = words;
				// The sample count travels masked (the envelope's is a placeholder): the training metrics weigh devices equally.
				foldIndex = active.count(deviceId, envelope.payloadSha256, 1, envelope.trainLoss, envelope.trainAccuracy);
				return await this.#persistAccepted(projectId, active, deviceId, envelope, null, foldIndex, masked);
			}
			const verifyStart = performance.now();
			// Signature and digest may be checked on a worker thread: the round can move on meanwhile.
			const verified = await verifyUpdate(
				envelope,
				{
					roundId: round.id,
					modelVersion: round.baseModelVersion,
					parameterCount: active.globalWeights.length,
					devicePublicKey: Buffer.from(device.publicKey, 'base64'),
					screening: project.screening,
					encoding: project.updateEncoding,
					reference: this.#lastAggregate.get(projectId) ?? null
				},
				this.deps.verifier ?? null
			);
			if (active.finishing && !active.abandoned) {
				// Not the device's fault and not acknowledged: nothing of it stays in the round.
				active.pending.delete(deviceId);
				throw new RoundClosedWhileChecking();
			}
			const foldStart = performance.now();
			this.deps.metrics?.updateVerified((foldStart - verifyStart) / 1000);
			// Fold before any await so a deadline firing meanwhile already counts this update.
			foldIndex = active.fold(
				deviceId,
				envelope.payloadSha256,
				{ delta: verified.delta, numSamples: envelope.numSamples, steps: envelope.steps, valAccuracy: envelope.valAccuracy },
				envelope.trainLoss,
				envelope.trainAccuracy,
				{ shared: !verified.owned }
			);
			this.deps.metrics?.updateFolded((performance.now() - foldStart) / 1000);
			// Measured in verifyUpdate's screening pass, against the aggregate the old code used here.
			distance = verified.distance;
		} catch (e) {
			if (e instanceof RoundClosedWhileChecking || masked !== null) throw e;
			active.pending.delete(deviceId);
			active.reject(deviceId);
			if (active.role === 'follower') this.#cluster.tell('update:rejected', { projectId, roundId: round.id, deviceId });
			this.#log(`round ${round.number} of ${projectId}: rejected update from ${deviceId}: ${String(e)}`, { projectId, roundId: round.id, deviceId });
			await this.#recordTrust(projectId, deviceId, { accepted: false });
			this.#maybeFinish(projectId, active);
			throw e instanceof ProtocolError ? e : new ProtocolError(ErrorCode.SchemaInvalid, (e as Error).message);
		}
		return this.#persistAccepted(projectId, active, deviceId, envelope, distance, foldIndex, null);
	}

	/**
	 * Stores an update folded (or, `masked`, summed) into the round and answers the device. The
	 * device stays pending until its update is on record, so the round cannot commit (and stop
	 * taking record of accepted devices) in between.
	 */
	async #persistAccepted(
		projectId: string,
		active: ActiveRound,
		deviceId: string,
		envelope: ParsedUpdateEnvelope,
		distance: number | null,
		foldIndex: number,
		masked: Uint32Array | null
	): Promise<UpdateResult> {
		const round = active.round;
		const persisted = this.#recordAccepted(projectId, active, deviceId, envelope, distance, foldIndex);
		active.persisting.add(persisted);
		try {
			await persisted;
			failpoint('update-durable');
		} catch (e) {
			// Folded but not on record: the device is asked to send it again (it gets no ack), and
			// the round's sums are rebuilt from the store at the close (ActiveRound.tainted). A masked
			// update comes out of the modular sum exactly instead.
			if (masked) active.secure?.removeMasked(deviceId, masked);
			else active.tainted = true;
			active.accepted.delete(deviceId);
			active.acceptedHashes.delete(envelope.payloadSha256);
			this.#log(`round ${round.number} of ${projectId}: update of ${deviceId} folded but not stored: ${String(e)}`, { projectId, roundId: round.id, deviceId });
			throw e;
		} finally {
			active.persisting.delete(persisted);
			active.pending.delete(deviceId);
			this.#maybeFinish(projectId, active);
		}
		if (active.role === 'follower' || active.abandoned) {
			this.#cluster.tell('update:accepted', { projectId, roundId: round.id, deviceId, payloadSha256: envelope.payloadSha256, numSamples: envelope.numSamples });
		}
		return { ok: true, roundId: round.id, accepted: active.accepted.size + active.remote.size, duplicate: false };
	}

	/** How many updates the round had accepted when it already holds this device's update with this payload; null otherwise. */
	async #acceptedEarlier(active: ActiveRound | undefined, roundId: string, deviceId: string, payloadSha256: string): Promise<number | null> {
		if (active && active.round.id === roundId) return active.acceptedHash(deviceId) === payloadSha256 ? active.accepted.size + active.remote.size : null;
		const earlier = await this.deps.store.updates.findByRoundAndDevice(roundId, deviceId);
		if (!earlier || earlier.payloadSha256 !== payloadSha256) return null;
		return (await this.deps.store.rounds.get(roundId))?.accepted.length ?? 1;
	}

	async #recordAccepted(
		projectId: string,
		active: ActiveRound,
		deviceId: string,
		envelope: ParsedUpdateEnvelope,
		distance: number | null,
		foldIndex: number
	): Promise<void> {
		const round = active.round;
		const start = performance.now();
		await this.#recordTrust(projectId, deviceId, { accepted: true, distance: distance ?? 0 });
		// The payload exactly as received: a restarted process decodes and folds it again (#restoreUpdates).
		const record = {
			projectId,
			roundId: round.id,
			deviceId,
			numSamples: envelope.numSamples,
			payloadSha256: envelope.payloadSha256,
			bytes: envelope.payload.byteLength,
			trainLoss: envelope.trainLoss,
			trainAccuracy: envelope.trainAccuracy,
			trainMs: envelope.trainMs,
			receivedAt: this.#now().toISOString()
		};
		try {
			await this.deps.store.updates.insert(record, { bytes: envelope.payload, foldIndex, steps: envelope.steps, valAccuracy: envelope.valAccuracy ?? null });
		} catch (e) {
			// Stored by an earlier try whose later step failed: the same update, durable already.
			const earlier = e instanceof DuplicateKeyError ? await this.deps.store.updates.findByRoundAndDevice(round.id, deviceId) : null;
			if (earlier?.payloadSha256 !== envelope.payloadSha256) throw e;
		}
		this.deps.metrics?.updateDurable((performance.now() - start) / 1000);
		// Only the leader writes the round record: MongoDB-compatible stores without atomic
		// updates (FerretDB) lose concurrent writes to one document, and the update record above is
		// what makes the update durable. Followers tell the leader instead.
		if (active.role === 'follower' || active.abandoned) return;
		await this.#noteAccepted(active, deviceId, envelope.numSamples);
	}

	/** Counts an accepted update in the round record (its progress for dashboards; the commit writes the final list). */
	async #noteAccepted(active: ActiveRound, deviceId: string, samples: number): Promise<void> {
		const updated = await this.deps.store.rounds.addAccepted(active.round.id, deviceId, samples);
		if (updated && active.round.status === 'training') active.round = updated;
		this.deps.feed.round(active.round);
	}

	/**
	 * A selected device went offline mid-round. A reload comes back within seconds; one that
	 * stays away past the grace period counts as answered, so the round need not wait for its
	 * deadline when everyone else is done.
	 */
	deviceLeft(projectId: string, deviceId: string): void {
		if (!this.#leads(projectId)) {
			this.#cluster.tell('device:event', { projectId, deviceId, kind: 'left' });
			return;
		}
		const graceMs = this.deps.dropoutGraceMs ?? DROPOUT_GRACE_MS;
		const active = this.#leaderRound(projectId);
		if (!active || active.finishing || !active.isWaitingFor(deviceId) || active.leaving.has(deviceId)) return;
		active.leaving.set(
			deviceId,
			setTimeout(() => {
				void this.deps.participants.isOnline(projectId, deviceId).then(
					(online) => {
						active.leaving.delete(deviceId);
						// Back on a socket but still loading or calibrating (which can take longer than the grace).
						if (online || active.finishing || !active.isWaitingFor(deviceId)) return;
						active.drop(deviceId);
						this.#log(`round ${active.round.number} of ${projectId}: ${deviceId} dropped out`, { projectId, roundId: active.round.id, deviceId });
						this.#maybeFinish(projectId, active);
					},
					(e: unknown) => this.#log(`could not tell whether ${deviceId} is online: ${String(e)}`, { projectId, deviceId })
				);
			}, graceMs)
		);
	}

	/**
	 * An administrator revoked a device: the round stops waiting for it at once (no grace
	 * period, it is not coming back). An update it already had accepted stays in the round.
	 * It is not selected again: it can no longer log in, so it is never ready.
	 */
	deviceRevoked(projectId: string, deviceId: string): void {
		if (!this.#leads(projectId)) {
			this.#cluster.tell('device:event', { projectId, deviceId, kind: 'revoked' });
			return;
		}
		const active = this.#leaderRound(projectId);
		if (!active || active.finishing || !active.isWaitingFor(deviceId) || active.pending.has(deviceId)) return;
		const leaving = active.leaving.get(deviceId);
		if (leaving) clearTimeout(leaving);
		active.leaving.delete(deviceId);
		active.drop(deviceId);
		this.#log(`round ${active.round.number} of ${projectId}: ${deviceId} revoked`, { projectId, roundId: active.round.id, deviceId });
		this.#maybeFinish(projectId, active);
	}

	/**
	 * An update from a selected device that failed the wire schema (NaN loss, missing fields):
	 * like any rejected update it leaves nothing in the round, and the round stops waiting for it.
	 */
	async rejectMalformed(projectId: string, deviceId: string): Promise<void> {
		const active = this.#active.get(projectId);
		if (!active || active.finishing || !active.selected.has(deviceId)) return;
		if (active.acceptedHash(deviceId) !== undefined || active.pending.has(deviceId) || active.rejected.has(deviceId)) return;
		active.reject(deviceId);
		if (active.role === 'follower') this.#cluster.tell('update:rejected', { projectId, roundId: active.round.id, deviceId });
		await this.#recordTrust(projectId, deviceId, { accepted: false });
		this.#maybeFinish(projectId, active);
	}

	/** Rounds this instance leads that are training right now, over all projects. */
	get activeRounds(): number {
		return [...this.#active.values()].filter((a) => a.role === 'leader').length;
	}

	/** Stops timers; the persisted state lets the next process resume. */
	close(): void {
		if (this.#claimTimer) clearInterval(this.#claimTimer);
		this.#claimTimer = null;
		for (const active of this.#active.values()) active.clearTimers();
		this.#active.clear();
	}

	async #openNextRound(projectId: string): Promise<void> {
		if (!this.#leads(projectId)) return;
		const project = await this.#project(projectId);
		if (project.status !== 'running') return;
		if (project.modelVersion >= project.rounds) {
			const done = await this.#updateProject(projectId, { status: 'completed' });
			await this.#event(projectId, 'project.completed', `all ${project.rounds} rounds committed`);
			this.#announceProject(done);
			await this.#resign(projectId);
			return;
		}
		const number = project.currentRound + 1;
		const round = await this.deps.store.rounds.create({
			projectId,
			number,
			baseModelVersion: project.modelVersion,
			deadline: this.#now().toISOString(),
			fence: this.#fence(projectId)
		});
		const updated = await this.#updateProject(projectId, { currentRound: number });
		this.deps.feed.round(round);
		this.#announceProject(updated);
		await this.#trySelect(projectId);
	}

	/** An open round starts training once enough ready devices are online. */
	async #trySelect(projectId: string): Promise<void> {
		const project = await this.#project(projectId);
		if (project.status !== 'running' || !this.#leads(projectId) || this.#leaderRound(projectId)) return;
		const round = await this.deps.store.rounds.current(projectId);
		if (!round || round.status !== 'open') return;
		const online = await this.deps.participants.readyDevices(projectId);
		if (online.length < project.minParticipants) return;
		// A revoked device's sockets are dropped, but a socket still closing must not get it picked.
		const revoked = new Set((await this.deps.store.devices.listByProject(projectId)).filter((d) => d.revokedAt).map((d) => d.id));
		const ready = online.filter((id) => !revoked.has(id));
		if (ready.length < project.minParticipants) return;
		const selected = selectDevices(ready, project, round.number);

		const strategyConfig = project.strategy;
		if (strategyConfig.name === 'dp-fedavg' && strategyConfig.targetEpsilon !== null) {
			const projected = await this.#privacyAfter(project, selected.length);
			if (projected.epsilon > strategyConfig.targetEpsilon) {
				await this.#fail(
					round,
					'open',
					`another round would spend epsilon ${projected.epsilon.toFixed(3)} > target ${strategyConfig.targetEpsilon} (delta ${strategyConfig.delta}; classic conversion ${projected.epsilonClassic?.toFixed(3)})`
				);
				const done = await this.#updateProject(projectId, { status: 'completed' });
				await this.#event(projectId, 'project.completed', 'privacy budget reached');
				this.#announceProject(done);
				await this.#resign(projectId);
				return;
			}
		}

		const deadline = new Date(this.#now().getTime() + project.roundTimeoutSec * 1000).toISOString();
		const training = await this.deps.store.rounds.transition(round.id, 'open', 'training', { selected, deadline }, this.#fence(projectId));
		if (!training) return;
		await this.#event(projectId, 'round.training', `round ${training.number}: ${selected.length} of ${ready.length} ready devices selected`);
		await this.#activate(project, training);
	}

	/**
	 * A round that was training or aggregating when the process stopped. Its accepted updates are
	 * durable, so the accumulator is rebuilt from them and only the selected devices without an
	 * accepted update are asked (again) for theirs: an acknowledged device never sends twice. A
	 * training round gets a fresh deadline; an aggregating one is finished at once.
	 */
	async #resumeRound(project: Project, round: Round): Promise<void> {
		if (project.secureAggregation) {
			// The key exchange lived in the old process's memory and the devices' secrets in theirs:
			// the stored masked updates can never be unmasked. A new round starts instead.
			await this.#fail(round, round.status, 'interrupted by a restart: a secure round cannot be resumed (its key exchange was in memory)');
			await this.#openNextRound(project.id);
			return;
		}
		const active = await this.#prepare(project, round);
		const dropped = await this.#restoreUpdates(project, active);
		const kept = active.accepted.size;
		const droppedNote = dropped > 0 ? `, ${dropped} that could not be folded again are asked for again` : '';
		if (round.status === 'aggregating') {
			this.#active.set(project.id, active);
			await this.#event(project.id, 'round.resumed', `round ${round.number} resumed after a restart while aggregating: ${kept} durable updates folded again${droppedNote}`);
			this.#finish(project.id, active, 'resumed after a restart');
			return;
		}
		const deadline = new Date(this.#now().getTime() + project.roundTimeoutSec * 1000).toISOString();
		// The round record may lack a durable update whose ack the crash cut off: the rebuilt round is the truth.
		const resumed = await this.deps.store.rounds.transition(
			round.id,
			'training',
			'training',
			{ accepted: [...active.accepted.keys()], totalSamples: active.totalSamples, deadline },
			this.#fence(project.id)
		);
		if (!resumed) return;
		active.round = resumed;
		const waiting = round.selected.filter((id) => active.isWaitingFor(id)).length;
		await this.#event(
			project.id,
			'round.resumed',
			`round ${round.number} resumed after a restart: ${kept} durable updates folded again, ${waiting} devices still asked${droppedNote}`
		);
		this.#launch(project, active);
	}

	/**
	 * Folds the round's stored payloads into its fresh strategy in their original fold order,
	 * through the same screening as on arrival, so the result is bit-identical to a run without
	 * the restart. Robust strategies (median, trimmed mean, Krum) hold every update in memory
	 * until finish: these stored payloads are what they rebuild that list from. An update that
	 * cannot be folded again (a record from before payloads were kept, or one the strategy now
	 * refuses) is deleted, so its device is asked again. Returns how many were deleted.
	 */
	async #restoreUpdates(project: Project, active: ActiveRound): Promise<number> {
		const round = active.round;
		const stored = await this.deps.store.updates.listWithPayloads(round.id);
		const listed = new Set(stored.map(({ record }) => record.deviceId));
		const folded = new Set<string>();
		for (const { record, payload } of stored) if (this.#tryFoldStored(project, active, record, payload)) folded.add(record.deviceId);
		let dropped = 0;
		for (const record of await this.deps.store.updates.listByRound(round.id)) {
			if (folded.has(record.deviceId)) continue;
			// Stored after the listing above (another instance goes on taking updates while this one
			// takes over): acknowledged and sound, so folded, never deleted. Only an update without a
			// payload, or one refused, is deleted, so its device is asked again.
			const payload = listed.has(record.deviceId) ? null : await this.deps.store.updates.loadPayload(round.id, record.deviceId);
			if (payload && this.#tryFoldStored(project, active, record, payload)) {
				folded.add(record.deviceId);
				continue;
			}
			dropped += await this.deps.store.updates.deleteOne(round.id, record.deviceId);
		}
		return dropped;
	}

	/** #foldStored that logs instead of throwing; whether the update was folded. */
	#tryFoldStored(project: Project, active: ActiveRound, record: UpdateRecord, payload: UpdatePayload): boolean {
		try {
			this.#foldStored(project, active, record, payload);
			return true;
		} catch (e) {
			this.#log(`round ${active.round.number} of ${project.id}: stored update of ${record.deviceId} not folded again: ${String(e)}`, {
				projectId: project.id,
				roundId: active.round.id,
				deviceId: record.deviceId
			});
			return false;
		}
	}

	/** Folds a stored update through the same screening as on arrival; throws when the strategy cannot use it. */
	#foldStored(project: Project, active: ActiveRound, record: UpdateRecord, payload: UpdatePayload): void {
		if (!active.selected.has(record.deviceId)) throw new Error('device is not selected for the round');
		const { delta, owned } = screenPayload(payload.bytes, {
			parameterCount: active.globalWeights.length,
			screening: project.screening,
			encoding: project.updateEncoding
		});
		active.fold(
			record.deviceId,
			record.payloadSha256,
			{ delta, numSamples: record.numSamples, steps: payload.steps, valAccuracy: payload.valAccuracy ?? undefined },
			record.trainLoss,
			record.trainAccuracy,
			{ foldIndex: payload.foldIndex, shared: !owned }
		);
	}

	/**
	 * The last round ended before the process stopped, but the crash may have come between its
	 * terminal transition and the steps after it: the project's model version and the payload clean-up.
	 */
	async #settleEnded(project: Project, round: Round): Promise<void> {
		if (round.status === 'committed' && round.resultModelVersion !== null && project.modelVersion < round.resultModelVersion) {
			const updated = await this.#updateProject(project.id, { modelVersion: round.resultModelVersion });
			await this.#event(project.id, 'round.committed', `round ${round.number}: model v${round.resultModelVersion} (committed before a restart)`);
			this.#announceProject(updated);
		}
		await this.#dropPayloads(round);
	}

	/** Holds a training round in memory with its strategy, sends tasks and arms the deadline. */
	async #activate(project: Project, round: Round): Promise<void> {
		const active = await this.#prepare(project, round);
		if (project.secureAggregation) active.secure = this.#secureAggregation(project, active);
		this.#launch(project, active);
	}

	/** A fresh SecAgg+ run for a new round: a random graph over the selected devices, its own timers. */
	#secureAggregation(project: Project, active: ActiveRound): SecureAggregationRound {
		const { id: projectId } = project;
		const participants = this.deps.participants;
		const channel: SecureChannel = {
			neighbours: (deviceId, message) => participants.sendSecure(projectId, deviceId, 'secagg:neighbours', message),
			relay: (deviceId, message) => participants.sendSecure(projectId, deviceId, 'secagg:relay', message),
			unmask: (deviceId, message) => participants.sendSecure(projectId, deviceId, 'secagg:unmask', message)
		};
		const strategy = project.strategy;
		// Each exchange phase gets a sixth of the round (5 to 60 s); the unmasking as long.
		const phaseMs = Math.min(60_000, Math.max(5_000, (project.roundTimeoutSec * 1000) / 6));
		return new SecureAggregationRound({
			roundId: active.round.id,
			roster: active.round.selected,
			config: project.secureAggregation!,
			parameterCount: active.globalWeights.length,
			graphSeed: new Uint8Array(randomBytes(32)),
			dp: strategy.name === 'dp-fedavg' ? { clipNorm: strategy.clipNorm, noiseMultiplier: strategy.noiseMultiplier } : null,
			channel,
			phaseMs,
			unmaskMs: phaseMs,
			onExchanged: (excluded) => {
				// Devices that did not finish the key exchange cannot upload: the round stops waiting for them.
				for (const deviceId of excluded) if (active.isWaitingFor(deviceId)) active.drop(deviceId);
				this.#maybeFinish(projectId, active);
			},
			log: (message) => this.#log(message, { projectId, roundId: active.round.id })
		});
	}

	/** The in-memory round with its strategy (the same construction for a new and a resumed round), not yet registered. */
	async #prepare(project: Project, round: Round, role: 'leader' | 'follower' = 'leader'): Promise<ActiveRound> {
		const weights = await this.deps.store.models.loadWeights(project.id, round.baseModelVersion);
		if (!weights) throw new Error(`model v${round.baseModelVersion} of ${project.id} has no weights`);
		const savedState = await this.deps.store.models.loadServerState(project.id, round.baseModelVersion);
		const config = project.strategy;
		// Secure DP-FedAvg is distributed DP: the devices clip and add the noise, the server averages the unmasked sum.
		const secureDp = project.secureAggregation && config.name === 'dp-fedavg';
		const strategy = createStrategy(
			secureDp ? { name: 'fedavg' } : config.name === 'dp-fedavg' ? { ...config, expectedClients: round.selected.length } : config,
			weights.length,
			savedState ? decodeServerOptimizerState(savedState) : undefined
		);
		return new ActiveRound(round, weights, encodeWeights(weights), strategy, role);
	}

	/** Registers a training round, sends its task to every selected device still owing an update and arms the deadline. */
	#launch(project: Project, active: ActiveRound): void {
		const round = active.round;
		this.#active.set(project.id, active);
		this.deps.feed.round(round);
		for (const deviceId of round.selected) if (active.isWaitingFor(deviceId)) this.#sendTask(active, deviceId);
		void this.#graceOffline(active).catch((e: unknown) => this.#log(`could not tell which devices are online: ${String(e)}`, { projectId: project.id }));
		const ms = Math.max(0, new Date(round.deadline).getTime() - this.#now().getTime());
		active.timer = setTimeout(() => this.#finish(project.id, active, 'deadline'), ms);
		// A resumed round may already hold every selected device's update.
		this.#maybeFinish(project.id, active);
	}

	#sendTask(active: ActiveRound, deviceId: string): void {
		if (this.#cluster.mode === 'single') {
			this.#sendTaskHere(active, [deviceId], active.round.deadline, false);
			return;
		}
		// Tasks of one tick go out as one message; every instance sends them to the devices it holds.
		let batch = this.#taskBatches.get(active);
		if (!batch) {
			const deviceIds: string[] = [];
			batch = deviceIds;
			this.#taskBatches.set(active, deviceIds);
			setImmediate(() => {
				this.#taskBatches.delete(active);
				const { projectId, id: roundId, deadline } = active.round;
				this.#cluster.tell('round:tasks', { projectId, roundId, deadline, deviceIds });
				this.#sendTaskHere(active, deviceIds, deadline, true);
			});
		}
		batch.push(deviceId);
	}

	/** Sends the round's task to the devices (`local`: to their sockets on this instance only). */
	#sendTaskHere(active: ActiveRound, deviceIds: string[], deadline: string, local: boolean): void {
		const r = active.round;
		void this.#project(r.projectId).then(
			(project) => {
				const task = {
					roundId: r.id,
					roundNumber: r.number,
					modelVersion: r.baseModelVersion,
					model: project.model,
					hyperparams: clientPlan(project),
					deadline,
					seed: project.seed + r.number,
					standardization: project.standardization,
					weights: active.encodedGlobal,
					updateEncoding: project.updateEncoding,
					...(active.secure ? { secure: active.secure.setup } : {})
				};
				for (const deviceId of deviceIds) this.deps.participants.sendTask(r.projectId, deviceId, task, { local });
			},
			(e: unknown) => this.#log(`could not send the task of round ${r.number}: ${String(e)}`, { projectId: r.projectId, roundId: r.id })
		);
	}

	#maybeFinish(projectId: string, active: ActiveRound): void {
		if (active.role === 'leader' && active.allResponded) this.#finish(projectId, active, 'all selected devices responded');
	}

	#finish(projectId: string, active: ActiveRound, why: string): void {
		if (active.finishing) return;
		active.finishing = true;
		active.clearTimers();
		void this.#queue
			.run(projectId, () => this.#closeRound(projectId, active, why))
			.catch(async (e: unknown) => {
				this.#log(`round ${active.round.number} of ${projectId} failed: ${String(e)}`, { projectId, roundId: active.round.id });
				await this.#fail(active.round, active.round.status, `aggregation failed: ${String(e)}`).catch(() => {});
			})
			.finally(() => {
				if (this.#active.get(projectId) === active) this.#active.delete(projectId);
				void this.#queue.run(projectId, () => this.#openNextRound(projectId)).catch((e: unknown) => this.#log(String(e)));
			});
	}

	async #closeRound(projectId: string, leader: ActiveRound, why: string): Promise<void> {
		const project = await this.#project(projectId);
		const round = leader.round;
		let aggregating: Round | null = round;
		// A round resumed while aggregating met its quorum before the restart and is already marked so.
		if (round.status !== 'aggregating') {
			// Updates folded in memory may still be on their way to the round record.
			await Promise.allSettled([...leader.persisting]);
			// The stored update records, not memory, say what is durable (other instances' updates too).
			const durable = await this.deps.store.updates.countByRound(round.id);
			if (durable < project.minParticipants) {
				await this.#fail(round, 'training', `${why}: ${durable} accepted updates, ${project.minParticipants} needed`);
				return;
			}
			aggregating = await this.deps.store.rounds.transition(round.id, 'training', 'aggregating', {}, this.#fence(projectId));
			if (!aggregating) return;
		}
		leader.round = aggregating;
		this.deps.feed.round(aggregating);
		const active = await this.#gather(project, leader, aggregating);
		const accepted = active.accepted.size;
		let totalSamples = active.totalSamples;
		/** Share of the configured noise std in the sum: in a secure round each uploader adds its part. */
		let noiseShare = 1;
		let secure: SecureRoundSummary | null = null;
		if (active.secure) {
			const sum = await active.secure.unmask();
			// DP-FedAvg divides the noisy sum by the expected number of devices, as the central version does.
			const dp = project.strategy.name === 'dp-fedavg';
			const delta = dp ? sum.mean.map((v) => (v * sum.uploaded) / round.selected.length) : sum.mean;
			active.strategy.add({ delta, numSamples: dp ? 1 : sum.totalSamples, steps: 1 });
			totalSamples = sum.totalSamples;
			if (dp) noiseShare = Math.sqrt(sum.uploaded / round.selected.length);
			const stats = active.secure.stats;
			const { degree, threshold } = active.secure.setup;
			secure = { degree, threshold, uploaded: sum.uploaded, droppedBeforeUpload: sum.droppedBeforeUpload, revealed: stats.revealed };
			await this.#event(
				projectId,
				'round.unmasked',
				`round ${round.number}: secure sum of ${sum.uploaded} masked updates unmasked (${sum.droppedBeforeUpload} dropped before uploading, ` +
					`${stats.revealed} devices revealed shares, ${stats.unmaskMs?.toFixed(0)} ms)`
			);
		}

		const version = round.baseModelVersion + 1;
		const saved = await this.#resultModel(projectId, round, active, version);
		const { next, model, evaluation } = saved;
		this.#lastAggregate.set(projectId, applyDelta(next, active.globalWeights, -1));
		const metrics = { testAccuracy: evaluation?.accuracy ?? null, testLoss: evaluation?.loss ?? null, ...active.trainMetrics() };
		const privacy =
			project.strategy.name === 'dp-fedavg'
				? await this.#privacyAfter(project, round.selected.length, { excludeRoundId: round.id, noiseMultiplier: project.strategy.noiseMultiplier * noiseShare })
				: null;
		const committed = await this.deps.store.rounds.transition(
			round.id,
			'aggregating',
			'committed',
			// What was folded: the round record's counts during training may have missed concurrent writes.
			{ resultModelVersion: version, metrics, privacy, accepted: [...active.accepted.keys()], totalSamples, ...(secure ? { secure } : {}) },
			this.#fence(projectId)
		);
		if (!committed) throw new Error('round changed state during aggregation');
		failpoint('round-committed');
		leader.round = committed;
		active.round = committed;
		this.#cluster.tell('round:ended', { projectId, roundId: round.id });
		this.deps.metrics?.round('committed');
		this.deps.metrics?.roundFinished('committed', this.#secondsSince(round.startedAt));
		const updatedProject = await this.#updateProject(projectId, { modelVersion: version });
		await this.#event(
			projectId,
			'round.committed',
			`round ${round.number}: ${accepted} updates (${why}), ${active.strategy.name}, ` +
				(evaluation ? `test accuracy ${evaluation.accuracy.toFixed(4)}, ` : '') +
				`model v${version}` +
				(privacy ? `, epsilon ${privacy.epsilon.toFixed(3)} (classic ${privacy.epsilonClassic?.toFixed(3)})` : '')
		);
		this.#log(
			`project ${projectId} round ${round.number} committed: ${accepted}/${active.selected.size} updates, ` +
				(evaluation ? `test accuracy ${evaluation.accuracy.toFixed(4)} loss ${evaluation.loss.toFixed(4)} ` : '') +
				`-> model v${version}`,
			{ projectId, roundId: round.id }
		);
		this.deps.feed.round(committed);
		this.deps.feed.model(model);
		this.deps.participants.announceRoundClosed(projectId, {
			roundId: round.id,
			roundNumber: round.number,
			status: 'committed',
			modelVersion: version,
			metrics
		});
		this.#announceProject(updatedProject);
		// Federated evaluation: every ready device scores the committed model on its hold-out.
		void this.#evaluations
			.committed(updatedProject, committed, next)
			.catch((e: unknown) => this.#log(`could not ask for evaluations of model v${version}: ${String(e)}`, { projectId, roundId: round.id }));
		// Demo data: how well a loss-threshold attack tells members from non-members (logged, never fails the round).
		void this.#membershipAuditor.afterCommit(updatedProject, version, next);
		await this.#dropPayloads(committed);
	}

	/**
	 * Model vN+1 of the round: aggregated and saved now, or, when a crash came between saving it
	 * and marking the round committed, the one already saved. Committing is idempotent that way:
	 * the (project, version) index is unique, and dp-fedavg's noise would not come out the same twice.
	 */
	async #resultModel(
		projectId: string,
		round: Round,
		active: ActiveRound,
		version: number
	): Promise<{ next: Float32Array; model: ModelRecord; evaluation: { accuracy: number; loss: number } | null }> {
		const existing = await this.deps.store.models.get(projectId, version);
		if (existing) {
			if (existing.roundNumber !== round.number) throw new Error(`model v${version} of ${projectId} came from round ${existing.roundNumber}, not ${round.number}`);
			const next = await this.deps.store.models.loadWeights(projectId, version);
			if (!next) throw new Error(`model v${version} of ${projectId} has no weights`);
			const evaluation = existing.testAccuracy !== null && existing.testLoss !== null ? { accuracy: existing.testAccuracy, loss: existing.testLoss } : null;
			this.#log(`round ${round.number} of ${projectId}: model v${version} was saved before a restart; committing it`, { projectId, roundId: round.id });
			return { next, model: existing, evaluation };
		}
		const project = await this.#project(projectId);
		const next = active.strategy.finish(active.globalWeights);
		// Local data has no server-side test set: participants score the model on their hold-outs.
		const evaluation = project.dataSource === 'demo' ? await this.deps.models.evaluate(project.model, project.dataset, next) : null;
		const serverState = active.strategy.state ? encodeServerOptimizerState(active.strategy.state) : undefined;
		const model = await this.deps.store.models.saveModel(
			{
				projectId,
				version,
				roundNumber: round.number,
				testAccuracy: evaluation?.accuracy ?? null,
				testLoss: evaluation?.loss ?? null
			},
			next,
			serverState
		);
		failpoint('model-saved');
		return { next, model, evaluation };
	}

	/**
	 * Everything durable in the round, folded into one strategy: the leader's own updates, each
	 * other instance's running sums (asked for now), and, read from the store, every durable
	 * update no partial vouches for (an instance that died or did not answer in time, a robust
	 * strategy that keeps every update, or updates folded here whose write failed).
	 */
	async #gather(project: Project, leader: ActiveRound, round: Round): Promise<ActiveRound> {
		const active = leader.tainted ? await this.#prepare(project, round) : leader;
		const folded = new Set(active.accepted.keys());
		// Asked before the records are read: an instance answers once its writes in flight are done.
		const replies = this.#cluster.mode === 'cluster' ? await this.#cluster.ask('round:partial', { projectId: project.id, roundId: round.id }) : [];
		const durable = new Set((await this.deps.store.updates.listByRound(round.id)).map((r) => r.deviceId).filter((d) => active.selected.has(d)));
		for (const reply of replies) {
			if (!reply || reply.partial === null || reply.devices.length === 0 || reply.roundId !== round.id) continue;
			const merged = this.#mergePartial(active, reply, durable, folded);
			this.#log(`round ${round.number} of ${project.id}: ${reply.instance}: ${merged}`, { projectId: project.id, roundId: round.id });
			for (const { deviceId } of merged === 'merged' ? reply.devices : []) folded.add(deviceId);
		}
		const missing = [...durable].filter((deviceId) => !folded.has(deviceId));
		const stored: { record: UpdateRecord; payload: UpdatePayload }[] = [];
		for (const deviceId of missing) {
			const record = await this.deps.store.updates.findByRoundAndDevice(round.id, deviceId);
			const payload = record && (await this.deps.store.updates.loadPayload(round.id, deviceId));
			if (record && payload) stored.push({ record, payload });
			else this.#log(`round ${round.number} of ${project.id}: the update of ${deviceId} has no stored payload; left out`, { projectId: project.id, roundId: round.id, deviceId });
		}
		stored.sort((a, b) => a.payload.foldIndex - b.payload.foldIndex || a.record.deviceId.localeCompare(b.record.deviceId));
		for (const { record, payload } of stored) this.#foldStored(project, active, record, payload);
		if (stored.length > 0) this.#log(`round ${round.number} of ${project.id}: ${stored.length} stored updates folded at the close`, { projectId: project.id, roundId: round.id });
		return active;
	}

	/** Adds one instance's partial aggregate; 'merged', or why it was left to the store. */
	#mergePartial(active: ActiveRound, reply: PeerPartialReply, durable: Set<string>, folded: Set<string>): string {
		const devices = reply.devices.map((d) => d.deviceId);
		if (devices.some((d) => folded.has(d))) return 'partial overlaps updates already folded; its updates are read from the store';
		if (devices.some((d) => !durable.has(d))) return 'partial holds an update the round did not record; its updates are read from the store';
		try {
			active.strategy.merge(decodePartialAggregate(reply.partial!, { strategy: active.strategy.name, length: active.globalWeights.length }));
		} catch (e) {
			return `partial not usable (${String(e)}); its updates are read from the store`;
		}
		active.mergeTrain(reply.train);
		for (const { deviceId, payloadSha256 } of reply.devices) active.accepted.set(deviceId, payloadSha256);
		return 'merged';
	}

	/** The round ended: its payloads are no longer needed (the records stay). A failure here must not fail a committed round. */
	async #dropPayloads(round: Round): Promise<void> {
		try {
			await this.deps.store.updates.deletePayloads(round.id);
		} catch (e) {
			this.#log(`could not delete the update payloads of round ${round.number} of ${round.projectId}: ${String(e)}`, { projectId: round.projectId, roundId: round.id });
		}
	}

	#secondsSince(iso: string): number {
		return Math.max(0, (this.#now().getTime() - Date.parse(iso)) / 1000);
	}

	async #fail(round: Round, from: RoundStatus, reason: string): Promise<void> {
		const failed = await this.deps.store.rounds.transition(round.id, from, 'failed', { failureReason: reason }, this.#fence(round.projectId));
		if (!failed) return;
		this.#cluster.tell('round:ended', { projectId: round.projectId, roundId: round.id });
		this.deps.metrics?.round('failed');
		this.deps.metrics?.roundFinished('failed', this.#secondsSince(round.startedAt));
		const active = this.#active.get(round.projectId);
		if (active && active.round.id === round.id) {
			active.clearTimers();
			active.finishing = true;
			this.#active.delete(round.projectId);
		}
		await this.#event(round.projectId, 'round.failed', `round ${round.number} failed: ${reason}`);
		this.#log(`project ${round.projectId} round ${round.number} failed: ${reason}`, { projectId: round.projectId, roundId: round.id });
		this.deps.feed.round(failed);
		this.deps.participants.announceRoundClosed(round.projectId, {
			roundId: round.id,
			roundNumber: round.number,
			status: 'failed',
			modelVersion: round.baseModelVersion,
			metrics: failed.metrics
		});
		await this.#dropPayloads(failed);
	}

	async #saveInitialModel(project: Project): Promise<void> {
		const weights = await this.deps.models.initialWeights(project.model, projectTask(project), project.seed);
		const model = await this.deps.store.models.saveModel(
			{
				projectId: project.id,
				version: 0,
				roundNumber: null
			},
			weights
		);
		this.deps.feed.model(model);
	}

	/**
	 * (epsilon, delta) of the DP rounds committed so far plus one more round sampling `selected`
	 * of the project's devices. `excludeRoundId` keeps a round from being counted twice while
	 * it is being committed.
	 */
	/**
	 * Privacy spent once a round with `selected` devices is added to the committed ones. `noiseMultiplier`:
	 * that round's effective noise (a secure round's devices add it, so fewer uploads carry less).
	 */
	async #privacyAfter(project: Project, selected: number, options: { excludeRoundId?: string; noiseMultiplier?: number } = {}): Promise<RoundPrivacy> {
		const strategy = project.strategy;
		if (strategy.name !== 'dp-fedavg') throw new Error('privacy accounting needs dp-fedavg');
		const devices = Math.max(selected, await this.deps.store.devices.countByProject(project.id));
		const sampleRate = selected / devices;
		const noiseMultiplier = options.noiseMultiplier ?? strategy.noiseMultiplier;
		const earlier = (await this.deps.store.rounds.listByProject(project.id))
			.filter((r) => r.status === 'committed' && r.privacy && r.id !== options.excludeRoundId)
			.map((r) => ({ sampleRate: r.privacy!.sampleRate, noiseMultiplier: r.privacy!.noiseMultiplier }));
		// epsilon (what the target is checked against) is the Canonne-Kamath-Steinke conversion.
		const { epsilon, epsilonClassic } = epsilonAfterRounds([...earlier, { sampleRate, noiseMultiplier }], strategy.delta);
		return { epsilon, epsilonClassic, delta: strategy.delta, noiseMultiplier, sampleRate };
	}

	async #recordTrust(projectId: string, deviceId: string, outcome: { accepted: true; distance: number } | { accepted: false }): Promise<void> {
		const device = await this.deps.store.devices.get(projectId, deviceId);
		if (!device) return;
		const next = updateTrust(device.trust, outcome);
		await this.deps.store.devices.update(projectId, deviceId, { trust: { ...next, score: trustScore(next) } });
	}

	/** Whether this instance leads the project (always, on a single instance). */
	#leads(projectId: string): boolean {
		return this.#cluster.fence(projectId) !== null;
	}

	/** The training round this instance leads for the project, if any. */
	#leaderRound(projectId: string): ActiveRound | undefined {
		const active = this.#active.get(projectId);
		return active?.role === 'leader' ? active : undefined;
	}

	/** The fencing token for round writes; undefined on a single instance (no fencing needed). */
	#fence(projectId: string): number | undefined {
		if (this.#cluster.mode === 'single') return undefined;
		const fence = this.#cluster.fence(projectId);
		if (fence === null) throw new Error(`this instance no longer leads project ${projectId}`);
		return fence;
	}

	async #resign(projectId: string): Promise<void> {
		await this.#cluster.resign(projectId).catch((e: unknown) => this.#log(`could not give up the lease of ${projectId}: ${String(e)}`, { projectId }));
	}

	/** Forgets the project's round in memory (its durable part stays in the store). */
	#dropRound(projectId: string): void {
		const active = this.#active.get(projectId);
		if (!active) return;
		active.clearTimers();
		active.finishing = true;
		this.#active.delete(projectId);
	}

	/**
	 * A follower's copy of the round its devices send updates for, loaded from the store on the
	 * first such update; its strategy folds only this instance's updates.
	 */
	async #followerRound(projectId: string, roundId: string): Promise<ActiveRound | undefined> {
		let loading = this.#preparing.get(projectId);
		if (!loading) {
			loading = (async () => {
				const round = await this.deps.store.rounds.get(roundId);
				if (!round || round.projectId !== projectId || round.status !== 'training') return null;
				const prepared = await this.#prepare(await this.#project(projectId), round, 'follower');
				const current = this.#active.get(projectId);
				if (current?.role === 'leader' || current?.round.id === roundId) return current;
				current?.clearTimers();
				this.#active.set(projectId, prepared);
				return prepared;
			})().finally(() => this.#preparing.delete(projectId));
			this.#preparing.set(projectId, loading);
		}
		await loading.catch((e: unknown) => this.#log(`could not load round ${roundId} of ${projectId}: ${String(e)}`, { projectId, roundId }));
		return this.#active.get(projectId);
	}

	/** What the other instances tell this one, as leader or as follower. */
	#listenToPeers(): void {
		const cluster = this.#cluster;
		cluster.onLost((projectId) => {
			this.#log(`lost the lease of project ${projectId}: another instance may lead it now`, { projectId });
			const active = this.#leaderRound(projectId);
			if (!active) return;
			// Updates being checked for it are still stored and acknowledged, and told to whoever leads next.
			active.abandoned = true;
			this.#dropRound(projectId);
		});
		cluster.on('update:accepted', ({ projectId, roundId, deviceId, payloadSha256, numSamples }) => {
			const active = this.#leaderRound(projectId);
			if (!active || active.round.id !== roundId || active.finishing || active.acceptedHash(deviceId) !== undefined) return;
			this.#countRemote(active, deviceId, payloadSha256, numSamples);
			this.#maybeFinish(projectId, active);
		});
		cluster.on('update:rejected', ({ projectId, roundId, deviceId }) => {
			const active = this.#leaderRound(projectId);
			if (!active || active.round.id !== roundId || active.finishing || active.acceptedHash(deviceId) !== undefined) return;
			active.reject(deviceId);
			this.#maybeFinish(projectId, active);
		});
		cluster.on('device:event', ({ projectId, deviceId, kind }) => {
			if (!this.#leads(projectId)) return;
			if (kind === 'ready') {
				void this.#queue
					.run(projectId, () => this.#leaderDeviceReady(projectId, deviceId))
					.catch((e: unknown) => this.#log(`deviceReady failed for ${projectId}: ${String(e)}`, { projectId, deviceId }));
			} else if (kind === 'left') this.deviceLeft(projectId, deviceId);
			else this.deviceRevoked(projectId, deviceId);
		});
		cluster.on('round:tasks', ({ projectId, roundId, deadline, deviceIds }) => {
			if (this.#leads(projectId)) return;
			void this.#followerRound(projectId, roundId).then((active) => {
				if (active?.round.id === roundId && !active.finishing) this.#sendTaskHere(active, deviceIds, deadline, true);
			});
		});
		cluster.on('round:ended', ({ projectId, roundId }) => {
			const active = this.#active.get(projectId);
			if (active?.role === 'follower' && active.round.id === roundId) this.#dropRound(projectId);
		});
		cluster.answer('round:partial', async ({ projectId, roundId }) => {
			const active = this.#active.get(projectId);
			if (active?.role !== 'follower' || active.round.id !== roundId) return null;
			// The leader is closing the round: nothing more is folded here.
			active.finishing = true;
			await Promise.allSettled([...active.persisting]);
			const partial = active.tainted ? null : active.strategy.partial();
			return {
				instance: cluster.instanceId,
				roundId,
				devices: [...active.accepted].map(([deviceId, payloadSha256]) => ({ deviceId, payloadSha256 })),
				partial: partial ? encodePartialAggregate(partial) : null,
				train: active.trainSums()
			};
		});
		cluster.answer('project:command', async ({ projectId, command }): Promise<PeerCommandReply> => {
			if (!this.#leads(projectId)) return { handled: false };
			try {
				await (command === 'start' ? this.#start(projectId) : this.#stop(projectId));
				return { handled: true, error: null };
			} catch (e) {
				const error = e instanceof ProtocolError ? { code: e.code, message: e.message } : { code: ErrorCode.Internal, message: 'the leader could not carry out the command' };
				return { handled: true, error };
			}
		});
	}

	async #updateProject(projectId: string, patch: ProjectPatch): Promise<Project> {
		const project = await this.deps.store.projects.update(projectId, patch);
		if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
		return project;
	}

	async #project(projectId: string): Promise<Project> {
		const project = await this.deps.store.projects.get(projectId);
		if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
		return project;
	}

	#announceProject(project: Project): void {
		this.deps.feed.project(project);
		this.deps.participants.announceProject(project);
	}

	async #event(projectId: string, type: string, message: string): Promise<void> {
		await this.deps.store.events.append({ projectId, type, message, data: {} });
	}
}
