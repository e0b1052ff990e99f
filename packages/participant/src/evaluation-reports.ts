import { EvaluationReportMessage, type DeviceEvaluation, type EvaluationTask } from '@qflare/protocol';
import { summarizeEvaluation } from '@qflare/fl';
import type { HoldOutScore, ReplyOf } from './ports';

/** This device's federated evaluation of one committed global model on its hold-out. */
export interface LocalEvaluation extends Omit<DeviceEvaluation, 'at'> {
	roundId: string;
	roundNumber: number;
	at: number;
	/** Whether the server took the report. */
	delivery: 'sending' | 'accepted' | 'rejected' | 'not-sent';
}

/** A report on its way to the server, with the evaluation the device shows for it. */
export interface OutgoingReport {
	message: EvaluationReportMessage;
	evaluation: LocalEvaluation;
}

/** A scored model: the report to send, or, when the score cannot be sent, why not. */
export type ScoredModel = OutgoingReport | { message: null; evaluation: LocalEvaluation; problem: string };

type ModelRef = Pick<EvaluationTask, 'roundId' | 'roundNumber' | 'modelVersion'>;

/** "accuracy 91.2%, macro-F1 0.905" or "MAE 2.31, RMSE 3.05", plus the loss. */
export function describeEvaluation(e: Pick<DeviceEvaluation, 'loss' | 'accuracy' | 'macroF1' | 'mae' | 'rmse'>): string {
	const parts: string[] = [];
	if (e.accuracy !== null) parts.push(`accuracy ${(e.accuracy * 100).toFixed(1)}%`);
	if (e.macroF1 !== null) parts.push(`macro-F1 ${e.macroF1.toFixed(3)}`);
	if (e.mae !== null) parts.push(`MAE ${e.mae.toPrecision(4)}`);
	if (e.rmse !== null) parts.push(`RMSE ${e.rmse.toPrecision(4)}`);
	parts.push(`loss ${e.loss.toFixed(3)}`);
	return parts.join(', ');
}

/** The evaluation a hold-out score makes, and its report unless the server would refuse it. */
export function scoredModel(model: ModelRef, score: HoldOutScore, at: number): ScoredModel {
	const { roundId, roundNumber, modelVersion } = model;
	const parsed = EvaluationReportMessage.safeParse({ ...score, modelVersion, roundId });
	const evaluation: LocalEvaluation = {
		...summarizeEvaluation({ ...score, modelVersion }),
		roundId,
		roundNumber,
		at,
		delivery: parsed.success ? 'sending' : 'not-sent'
	};
	if (parsed.success) return { message: parsed.data, evaluation };
	// A diverged model scores NaN: the server would refuse it, so it is not sent.
	const problem = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
	return { message: null, evaluation, problem };
}

/** How the reports reach the server, through the session. */
export interface ReportChannel {
	/** Logged in: a report can go out now. */
	online(): boolean;
	send(message: EvaluationReportMessage): Promise<ReplyOf<'eval:report'>>;
	note(message: string): void;
	/** The server answered the report of `evaluation`. */
	delivered(evaluation: LocalEvaluation, delivery: 'accepted' | 'rejected'): void;
}

/**
 * The device's side of federated evaluation beyond scoring: which models it took on, so a
 * request the server sends again is not scored twice, and the reports not yet acknowledged.
 */
export class EvaluationReports {
	/** Models evaluated (or queued), by "roundId/version". */
	private readonly claimed = new Set<string>();
	/**
	 * Reports whose ack did not arrive, by round, sent again after the next login. The server
	 * merges a late report into its round, so one report pending must not push out another.
	 */
	private readonly unacknowledged = new Map<string, OutgoingReport>();

	constructor(private readonly channel: ReportChannel) {}

	/** Takes a model on for scoring; false when it is scored or queued already. */
	claim(model: ModelRef): boolean {
		const id = modelId(model);
		if (this.claimed.has(id)) return false;
		this.claimed.add(id);
		return true;
	}

	/** Scoring failed: only a scored model counts, so it is scored if the server asks again. */
	release(model: ModelRef): void {
		this.claimed.delete(modelId(model));
	}

	/** Sends a report, or keeps it for `resend` when offline or when its ack does not arrive. */
	async send(report: OutgoingReport): Promise<void> {
		const { roundId, modelVersion } = report.message;
		if (!this.channel.online()) {
			this.unacknowledged.set(roundId, report);
			return;
		}
		let reply: ReplyOf<'eval:report'>;
		try {
			reply = await this.channel.send(report.message);
		} catch (error) {
			this.unacknowledged.set(roundId, report);
			this.channel.note(`model v${modelVersion}: evaluation not acknowledged (${error instanceof Error ? error.message : String(error)}); will re-send after reconnecting`);
			return;
		}
		// A newer report of the round may have taken this one's place meanwhile: it stays.
		if (this.unacknowledged.get(roundId) === report) this.unacknowledged.delete(roundId);
		if (!reply.ok) this.channel.note(`model v${modelVersion}: evaluation refused (${reply.code} ${reply.message})`);
		this.channel.delivered(report.evaluation, reply.ok ? 'accepted' : 'rejected');
	}

	/** After a login: every report not acknowledged goes out again. */
	async resend(): Promise<void> {
		const reports = [...this.unacknowledged.values()];
		this.unacknowledged.clear();
		for (const report of reports) await this.send(report);
	}
}

function modelId(model: ModelRef): string {
	return `${model.roundId}/${model.modelVersion}`;
}
