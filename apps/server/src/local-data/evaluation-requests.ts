import { encodeWeights, type EvaluationTask, type Project, type Round } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { ParticipantChannel } from '../rounds/ports';

/**
 * Asks devices to score committed models on their hold-outs (model:evaluate): every ready device
 * after a commit, and a device that becomes ready later for the latest committed model, so the
 * round's federated evaluation does not miss it for good. The coordinator tells it what happens.
 */
export class EvaluationRequests {
	/**
	 * Per project: the devices asked to score the latest committed round's model that have not
	 * reported yet, so a device that reports its status again is not asked twice. Replaced when
	 * the next round commits; a device leaves it when it reports, or logs in on a new socket
	 * (a reload or a reconnect: the request went to the old one).
	 */
	readonly #outstanding = new Map<string, { roundId: string; devices: Set<string> }>();

	constructor(
		private readonly store: Store,
		private readonly participants: Pick<ParticipantChannel, 'readyDevices' | 'sendEvaluation'>
	) {}

	/** A round committed: every ready device scores its model. */
	async committed(project: Project, round: Round, weights: Float32Array): Promise<void> {
		const outstanding = { roundId: round.id, devices: new Set<string>() };
		this.#outstanding.set(project.id, outstanding);
		if (project.holdOutFraction === 0 || round.resultModelVersion === null) return;
		const devices = await this.participants.readyDevices(project.id);
		if (devices.length === 0) return;
		const task = evaluationTask(project, round, round.resultModelVersion, weights);
		for (const deviceId of devices) {
			outstanding.devices.add(deviceId);
			this.participants.sendEvaluation(project.id, deviceId, task);
		}
	}

	/**
	 * A device became ready (it joined, reconnected, or the server restarted): it scores the
	 * latest committed model too, unless it already reported or is being asked.
	 */
	async deviceReady(project: Project, deviceId: string): Promise<void> {
		if (project.holdOutFraction === 0 || project.modelVersion === 0) return;
		const version = project.modelVersion;
		const model = await this.store.models.get(project.id, version);
		if (!model || model.roundNumber === null) return;
		const round = await this.store.rounds.getByNumber(project.id, model.roundNumber);
		if (!round || round.status !== 'committed' || round.resultModelVersion !== version) return;
		let outstanding = this.#outstanding.get(project.id);
		if (outstanding?.roundId !== round.id) {
			// After a restart: nothing asked yet in this process.
			outstanding = { roundId: round.id, devices: new Set() };
			this.#outstanding.set(project.id, outstanding);
		}
		if (outstanding.devices.has(deviceId)) return;
		if (await this.store.evaluations.get(round.id, deviceId)) return;
		const weights = await this.store.models.loadWeights(project.id, version);
		if (!weights) throw new Error(`model v${version} of ${project.id} has no weights`);
		outstanding.devices.add(deviceId);
		this.participants.sendEvaluation(project.id, deviceId, evaluationTask(project, round, version, weights));
	}

	/**
	 * A device logged in on a new socket, which has seen no request: once ready it is asked again
	 * for a score it still owes. Its session skips a model it already scores.
	 */
	deviceLoggedIn(projectId: string, deviceId: string): void {
		this.#outstanding.get(projectId)?.devices.delete(deviceId);
	}

	/** A device's evaluation of a committed round was stored: it is no longer waited for. */
	reported(projectId: string, roundId: string, deviceId: string): void {
		const outstanding = this.#outstanding.get(projectId);
		if (outstanding?.roundId === roundId) outstanding.devices.delete(deviceId);
	}
}

function evaluationTask(project: Project, round: Round, modelVersion: number, weights: Float32Array): EvaluationTask {
	return {
		roundId: round.id,
		roundNumber: round.number,
		modelVersion,
		model: project.model,
		standardization: project.standardization,
		weights: encodeWeights(weights)
	};
}
