import { describe, expect, it } from 'vitest';
import type { EvaluationReportMessage } from '@qflare/protocol';
import { EvaluationReports, scoredModel, type LocalEvaluation, type OutgoingReport, type ReportChannel } from './evaluation-reports';
import type { HoldOutScore, ReplyOf } from './ports';

const score: HoldOutScore = {
	n: 4,
	loss: 0.25,
	classification: { correct: 3, truePositives: [2, 1], falsePositives: [1, 0], falseNegatives: [0, 1] }
};

function report(roundId: string, modelVersion: number): OutgoingReport {
	const scored = scoredModel({ roundId, roundNumber: modelVersion, modelVersion }, score, 0);
	if (scored.message === null) throw new Error(scored.problem);
	return scored;
}

/** A channel whose replies the test settles one by one. */
class FakeChannel implements ReportChannel {
	/** The logged-in connection's number; null while offline. */
	current: number | null = 1;
	readonly sent: EvaluationReportMessage[] = [];
	readonly notes: string[] = [];
	readonly deliveries: [number, string][] = [];
	private readonly waiting: { resolve(reply: ReplyOf<'eval:report'>): void; reject(error: Error): void }[] = [];

	connection(): number | null {
		return this.current;
	}
	send(message: EvaluationReportMessage): Promise<ReplyOf<'eval:report'>> {
		this.sent.push(message);
		return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
	}
	note(message: string): void {
		this.notes.push(message);
	}
	delivered(evaluation: LocalEvaluation, delivery: 'accepted' | 'rejected'): void {
		this.deliveries.push([evaluation.modelVersion, delivery]);
	}

	/** Settles the oldest request, then lets what awaited it run. */
	async answer(reply: ReplyOf<'eval:report'> | Error): Promise<void> {
		const next = this.waiting.shift();
		if (!next) throw new Error('nothing was sent');
		if (reply instanceof Error) next.reject(reply);
		else next.resolve(reply);
		await new Promise((r) => setTimeout(r, 0));
	}
}

function setup(maxSendsPerConnection = 3) {
	const channel = new FakeChannel();
	return { channel, reports: new EvaluationReports(channel, maxSendsPerConnection) };
}

describe('scoredModel', () => {
	it('makes the report and the evaluation the device shows', () => {
		const scored = scoredModel({ roundId: 'r1', roundNumber: 1, modelVersion: 2 }, score, 1234);
		expect(scored.message).toEqual({ ...score, modelVersion: 2, roundId: 'r1' });
		expect(scored.evaluation).toMatchObject({ roundId: 'r1', roundNumber: 1, modelVersion: 2, n: 4, accuracy: 0.75, at: 1234, delivery: 'sending' });
	});

	it('keeps a score the server would refuse (a diverged model) as not sent, saying why', () => {
		const scored = scoredModel({ roundId: 'r1', roundNumber: 1, modelVersion: 2 }, { ...score, loss: Number.NaN }, 0);
		expect(scored.message).toBeNull();
		expect(scored.evaluation.delivery).toBe('not-sent');
		expect(scored.message === null && scored.problem).toMatch(/^loss: /);
	});
});

describe('EvaluationReports', () => {
	it('takes each model on once until its scoring fails', () => {
		const { reports } = setup();
		const model = { roundId: 'r1', roundNumber: 1, modelVersion: 1 };
		expect(reports.claim(model)).toBe(true);
		expect(reports.claim(model)).toBe(false);
		expect(reports.claim({ ...model, roundId: 'r2' })).toBe(true);
		reports.release(model);
		expect(reports.claim(model)).toBe(true);
	});

	it('keeps reports made offline, one per round, for the next login', async () => {
		const { channel, reports } = setup();
		channel.current = null;
		await reports.send(report('r1', 1));
		await reports.send(report('r2', 2));
		await reports.send(report('r2', 2));
		expect(channel.sent).toEqual([]);

		channel.current = 2;
		const resent = reports.resend();
		await channel.answer({ ok: true });
		await channel.answer({ ok: false, code: 'WRONG_ROUND', message: 'no round r2' });
		await resent;
		expect(channel.sent.map((m) => m.roundId)).toEqual(['r1', 'r2']);
		expect(channel.deliveries).toEqual([
			[1, 'accepted'],
			[2, 'rejected']
		]);
		expect(channel.notes).toEqual(['model v2: evaluation refused (WRONG_ROUND no round r2)']);

		// Both were answered: nothing is left to re-send.
		await reports.resend();
		expect(channel.sent).toHaveLength(2);
	});

	it('re-sends a report whose ack timed out on the same connection, and counts it delivered once', async () => {
		const { channel, reports } = setup();
		const sending = reports.send(report('r1', 1));
		await channel.answer(new Error('operation has timed out'));
		expect(channel.sent).toHaveLength(2);
		await channel.answer({ ok: true });
		await sending;
		expect(channel.sent.map((m) => m.roundId)).toEqual(['r1', 'r1']);
		expect(channel.deliveries).toEqual([[1, 'accepted']]);
		expect(channel.notes).toEqual(['model v1: evaluation not acknowledged (operation has timed out); will re-send']);
		// Answered: the next login sends nothing.
		await reports.resend();
		expect(channel.sent).toHaveLength(2);
	});

	it('tries a few times per connection, then waits for the next login, which gets its own tries', async () => {
		const { channel, reports } = setup(2);
		const sending = reports.send(report('r1', 1));
		await channel.answer(new Error('timeout'));
		await channel.answer(new Error('timeout'));
		await sending;
		expect(channel.sent).toHaveLength(2);
		expect(channel.notes.at(-1)).toBe('model v1: evaluation not acknowledged after 2 tries; will re-send after reconnecting');
		expect(channel.deliveries).toEqual([]);

		channel.current = 2;
		const resent = reports.resend();
		await channel.answer(new Error('timeout'));
		await channel.answer({ ok: true });
		await resent;
		expect(channel.sent).toHaveLength(4);
		expect(channel.deliveries).toEqual([[1, 'accepted']]);
	});

	it('goes on with fresh tries when the connection changed while an ack was awaited', async () => {
		const { channel, reports } = setup(2);
		const sending = reports.send(report('r1', 1));
		await channel.answer(new Error('timeout'));
		// Reconnected (and logged in) while the second try waited: its timeout is the old connection's.
		channel.current = 2;
		await reports.resend();
		await channel.answer(new Error('timeout'));
		await channel.answer(new Error('timeout'));
		await channel.answer({ ok: true });
		await sending;
		expect(channel.sent).toHaveLength(4);
		expect(channel.deliveries).toEqual([[1, 'accepted']]);
	});

	it('keeps a report that lost its connection while an ack was awaited for the next login', async () => {
		const { channel, reports } = setup();
		const sending = reports.send(report('r1', 1));
		channel.current = null;
		await channel.answer(new Error('timeout'));
		await sending;
		expect(channel.sent).toHaveLength(1);

		channel.current = 2;
		const resent = reports.resend();
		await channel.answer({ ok: true });
		await resent;
		expect(channel.sent).toHaveLength(2);
		expect(channel.deliveries).toEqual([[1, 'accepted']]);
	});

	it('keeps a newer report of a round that an older one, answered late, would otherwise remove', async () => {
		const { channel, reports } = setup();
		const older = report('r1', 1);
		const inFlight = reports.send(older);
		channel.current = null;
		const newer = report('r1', 1);
		await reports.send(newer);
		await channel.answer({ ok: true });
		await inFlight;

		channel.current = 2;
		const resent = reports.resend();
		await channel.answer({ ok: true });
		await resent;
		expect(channel.sent).toEqual([older.message, newer.message]);
	});

	it('never lets an older report that failed late replace a newer one waiting for the login', async () => {
		const { channel, reports } = setup();
		const older = report('r1', 1);
		const inFlight = reports.send(older);
		channel.current = null;
		const newer = report('r1', 1);
		await reports.send(newer);
		await channel.answer(new Error('timeout'));
		await inFlight;

		channel.current = 2;
		const resent = reports.resend();
		await channel.answer({ ok: true });
		await resent;
		expect(channel.sent).toEqual([older.message, newer.message]);
		expect(channel.sent[1]).toBe(newer.message);
	});

	it('drops an older report of a round waiting for the login once a newer one is acknowledged', async () => {
		const { channel, reports } = setup();
		channel.current = null;
		await reports.send(report('r1', 1));
		channel.current = 2;
		const newer = reports.send(report('r1', 1));
		await channel.answer({ ok: true });
		await newer;
		await reports.resend();
		expect(channel.sent).toHaveLength(1);
	});
});
