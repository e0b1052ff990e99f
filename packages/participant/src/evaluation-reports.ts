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
	/** The logged-in connection a report can go out on now (a new number after each login); null when not logged in. */
	connection(): number | null;
	send(message: EvaluationReportMessage): Promise<ReplyOf<'eval:report'>>;
	note(message: string): void;
	/** The server answered the report of `evaluation`. */
	delivered(evaluation: LocalEvaluation, delivery: 'accepted' | 'rejected'): void;
}

/**
 * The device's side of federated evaluation beyond scoring: which models it took on, so a
 * request the server sends again is not scored twice, and the reports not yet acknowledged.
 * A report is sent again until its ack arrives: at once after an ack timeout, a few times per
 * connection, then after the next login. Sending it twice counts it once: the server replaces a
 * device's report of a round.
 */
export class EvaluationReports {
	/** Models evaluated (or queued), by "roundId/version". */
	private readonly claimed = new Set<string>();
	/**
	 * Reports waiting for the next login, by round: offline when scored, or out of tries on the
	 * last connection. The server merges a late report into its round, so one report pending
	 * must not push out another.
	 */
	private readonly unacknowledged = new Map<string, OutgoingReport>();
	/** When each report was first sent, so an older one failing late never replaces a newer one waiting. */
	private readonly order = new WeakMap<OutgoingReport, number>();
	private sent = 0;

	constructor(
		private readonly channel: ReportChannel,
		/** Sends of one report per connection before it waits for a reconnect, like an update's. */
		private readonly maxSendsPerConnection = 3
	) {}

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

	/**
	 * Sends a report until it is answered, or keeps it for `resend` when offline or out of tries
	 * on this connection. Never rejects.
	 */
	async send(report: OutgoingReport): Promise<void> {
		const { roundId, modelVersion } = report.message;
		if (!this.order.has(report)) this.order.set(report, ++this.sent);
		let connection: number | null = null;
		let sends = 0;
		for (;;) {
			const now = this.channel.connection();
			if (now === null) return this.keep(report);
			// A reconnect while an ack was awaited: the new connection gets its own tries.
			if (now !== connection) {
				connection = now;
				sends = 0;
			}
			if (sends >= this.maxSendsPerConnection) {
				this.channel.note(`model v${modelVersion}: evaluation not acknowledged after ${sends} tries; will re-send after reconnecting`);
				return this.keep(report);
			}
			sends++;
			let reply: ReplyOf<'eval:report'>;
			try {
				reply = await this.channel.send(report.message);
			} catch (error) {
				this.channel.note(`model v${modelVersion}: evaluation not acknowledged (${error instanceof Error ? error.message : String(error)}); will re-send`);
				continue;
			}
			// An older report of the round waiting for the login would replace this one at the server.
			const waiting = this.unacknowledged.get(roundId);
			if (waiting && !this.newer(waiting, report)) this.unacknowledged.delete(roundId);
			if (!reply.ok) this.channel.note(`model v${modelVersion}: evaluation refused (${reply.code} ${reply.message})`);
			this.channel.delivered(report.evaluation, reply.ok ? 'accepted' : 'rejected');
			return;
		}
	}

	/** After a login: every report waiting for it goes out again. */
	async resend(): Promise<void> {
		const reports = [...this.unacknowledged.values()];
		this.unacknowledged.clear();
		await Promise.all(reports.map((report) => this.send(report)));
	}

	/** Keeps a report for the next login, unless a newer one of its round already waits there. */
	private keep(report: OutgoingReport): void {
		const { roundId } = report.message;
		const waiting = this.unacknowledged.get(roundId);
		if (waiting && this.newer(waiting, report)) return;
		this.unacknowledged.set(roundId, report);
	}

	private newer(a: OutgoingReport, b: OutgoingReport): boolean {
		return (this.order.get(a) ?? 0) > (this.order.get(b) ?? 0);
	}
}

function modelId(model: ModelRef): string {
	return `${model.roundId}/${model.modelVersion}`;
}
