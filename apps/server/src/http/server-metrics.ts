import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What GET /metrics reads from the live server at scrape time. */
export interface LiveGauges {
	devicesOnline: number;
	activeRounds: number;
}

/**
 * The server's Prometheus metrics (prom-client). Each instance has its own Registry, so several
 * servers in one process (tests) never share or clash over a metric, and every series carries an
 * `instance` label so the metrics of several Qflare instances can be summed or told apart.
 */
export class ServerMetrics {
	readonly registry = new Registry();
	readonly #updates: Counter<'outcome'>;
	readonly #rounds: Counter<'status'>;
	readonly #bytes: Counter;
	readonly #verify: Histogram;
	readonly #fold: Histogram;
	readonly #durable: Histogram;
	readonly #roundDuration: Histogram<'status'>;
	readonly #devicesOnline: Gauge;
	readonly #roundsTraining: Gauge;
	readonly #uptime: Gauge;
	readonly #started = Date.now();

	constructor(instance = 'unknown') {
		this.setInstance(instance);
		const registers = [this.registry];
		collectDefaultMetrics({ register: this.registry, prefix: 'qflare_' });
		this.#updates = new Counter({ name: 'qflare_updates_total', help: 'Model updates received, by outcome (accepted or the rejection code).', labelNames: ['outcome'], registers });
		this.#rounds = new Counter({ name: 'qflare_rounds_total', help: 'Rounds that ended, by status.', labelNames: ['status'], registers });
		this.#bytes = new Counter({ name: 'qflare_update_bytes_total', help: 'Bytes of update payloads received over the participant socket.', registers });
		// Per-update work is milliseconds (ISSUE 11: verify ~2 ms, fold ~2.4 ms on a CNN update); a store write can take longer.
		const perUpdate = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
		this.#verify = new Histogram({ name: 'qflare_update_verify_seconds', help: 'Time to verify one update (hash and signature).', buckets: perUpdate, registers });
		this.#fold = new Histogram({ name: 'qflare_update_fold_seconds', help: 'Time to fold one accepted update into the round accumulator.', buckets: perUpdate, registers });
		this.#durable = new Histogram({ name: 'qflare_update_durable_seconds', help: 'Time to make one accepted update durable in the store before it is acknowledged.', buckets: [...perUpdate, 5, 10], registers });
		this.#roundDuration = new Histogram({
			name: 'qflare_round_duration_seconds',
			help: 'Wall time of a round from start to commit or failure, by status.',
			labelNames: ['status'],
			buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
			registers
		});
		this.#devicesOnline = new Gauge({ name: 'qflare_devices_online', help: 'Participants connected to this instance and logged in.', registers });
		this.#roundsTraining = new Gauge({ name: 'qflare_rounds_training', help: 'Rounds this instance is currently running.', registers });
		this.#uptime = new Gauge({ name: 'qflare_uptime_seconds', help: 'Seconds since this server started.', registers });
	}

	/** The `instance` label of every series (known only after listen when the port was 0). */
	setInstance(instance: string): void {
		this.registry.setDefaultLabels({ instance });
	}

	/** `outcome` is 'accepted' or the error code the participant got back. */
	update(outcome: string): void {
		this.#updates.inc({ outcome });
	}

	/** Counts a round that ended; its duration goes to roundFinished (callers may call both). */
	round(status: 'committed' | 'failed'): void {
		this.#rounds.inc({ status });
	}

	updateVerified(seconds: number): void {
		this.#verify.observe(seconds);
	}

	updateFolded(seconds: number): void {
		this.#fold.observe(seconds);
	}

	updateDurable(seconds: number): void {
		this.#durable.observe(seconds);
	}

	/** Observes the round's duration only: qflare_rounds_total is counted by round(), so a caller of both counts once. */
	roundFinished(status: 'committed' | 'failed', seconds: number): void {
		this.#roundDuration.observe({ status }, seconds);
	}

	bytesReceived(bytes: number): void {
		if (Number.isFinite(bytes) && bytes > 0) this.#bytes.inc(bytes);
	}

	get contentType(): string {
		return this.registry.contentType;
	}

	/** The Prometheus text exposition, with the gauges read now. */
	async render(gauges: LiveGauges): Promise<string> {
		this.#devicesOnline.set(gauges.devicesOnline);
		this.#roundsTraining.set(gauges.activeRounds);
		this.#uptime.set(Math.round((Date.now() - this.#started) / 1000));
		return this.registry.metrics();
	}
}
