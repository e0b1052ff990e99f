import { mergeEvaluations, summarizeEvaluation } from '@qflare/fl';
import { ErrorCode, projectTask, ProtocolError, type EvaluationReportMessage } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { DashboardFeed } from '../rounds/ports';
import { SerialQueue } from '../rounds/serial-queue';
import { evaluationReportProblems } from './report-checks';

export interface EvaluationFeed extends Pick<DashboardFeed, 'round' | 'model'> {
	devicesChanged(projectId: string): void;
}

/**
 * Takes the participants' scores of committed models (eval:report). Each accepted report is
 * stored (one per device and round, a re-send replaces) and the round's reports are merged
 * again into the round record and the model record. A rejected report changes nothing.
 */
export class EvaluationCollector {
	/**
	 * Per project: a merge reads every report of its round, and a device's last evaluation is read
	 * and then written, so reports of one project (on one round or on several) must not interleave.
	 */
	readonly #queue = new SerialQueue();

	constructor(
		private readonly store: Store,
		private readonly feed: EvaluationFeed
	) {}

	async submit(projectId: string, deviceId: string, report: EvaluationReportMessage): Promise<{ ok: true }> {
		const project = await this.store.projects.get(projectId);
		if (!project) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
		const device = await this.store.devices.get(projectId, deviceId);
		if (!device) throw new ProtocolError(ErrorCode.UnknownDevice, 'device is not registered in this project');
		const round = await this.store.rounds.get(report.roundId);
		if (!round || round.projectId !== projectId) throw new ProtocolError(ErrorCode.WrongRound, `no round ${report.roundId} in this project`);
		if (round.status !== 'committed' || round.resultModelVersion === null) {
			throw new ProtocolError(ErrorCode.WrongRound, `round ${round.number} is ${round.status}: only a committed model is evaluated`);
		}
		if (report.modelVersion !== round.resultModelVersion) {
			throw new ProtocolError(
				ErrorCode.WrongModelVersion,
				`round ${round.number} committed model v${round.resultModelVersion}, the report scores v${report.modelVersion}`
			);
		}
		const problems = evaluationReportProblems(report, projectTask(project));
		if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, problems.join('; '));

		const { roundId, ...scores } = report;
		const version = round.resultModelVersion;
		await this.#queue.run(projectId, async () => {
			const now = new Date().toISOString();
			await this.store.evaluations.put({ ...scores, projectId, roundId, roundNumber: round.number, deviceId, receivedAt: now });
			const merged = mergeEvaluations(version, await this.store.evaluations.listByRound(roundId));
			const updatedRound = await this.store.rounds.update(roundId, { federatedEvaluation: merged });
			const model = await this.store.models.setFederatedEvaluation(projectId, version, merged);
			// A late report on an older model must not hide the device's newer one.
			const latest = await this.store.devices.get(projectId, deviceId);
			if (!latest?.lastEvaluation || latest.lastEvaluation.modelVersion <= version) {
				await this.store.devices.update(projectId, deviceId, { lastEvaluation: { ...summarizeEvaluation(report), at: now } });
			}
			if (updatedRound) this.feed.round(updatedRound);
			if (model) this.feed.model(model);
			this.feed.devicesChanged(projectId);
		});
		return { ok: true };
	}
}
