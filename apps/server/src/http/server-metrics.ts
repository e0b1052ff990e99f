/**
 * Counters and gauges for GET /metrics in the Prometheus text format. Kept in memory: they
 * describe this process since it started, as Prometheus expects of a counter.
 */
export class ServerMetrics {
	readonly #updates = new Map<string, number>();
	readonly #rounds = new Map<string, number>();
	readonly #started = Date.now();

	/** `outcome` is 'accepted' or the error code the participant got back. */
	update(outcome: string): void {
		this.#updates.set(outcome, (this.#updates.get(outcome) ?? 0) + 1);
	}

	round(status: 'committed' | 'failed'): void {
		this.#rounds.set(status, (this.#rounds.get(status) ?? 0) + 1);
	}

	render(gauges: { devicesOnline: number; activeRounds: number }): string {
		const lines = [
			'# HELP qflare_updates_total Model updates received, by outcome (accepted or the rejection code).',
			'# TYPE qflare_updates_total counter',
			...[...this.#updates].map(([outcome, n]) => `qflare_updates_total{outcome="${outcome}"} ${n}`),
			'# HELP qflare_rounds_total Rounds that ended, by status.',
			'# TYPE qflare_rounds_total counter',
			...[...this.#rounds].map(([status, n]) => `qflare_rounds_total{status="${status}"} ${n}`),
			'# HELP qflare_devices_online Participants connected and logged in.',
			'# TYPE qflare_devices_online gauge',
			`qflare_devices_online ${gauges.devicesOnline}`,
			'# HELP qflare_rounds_training Rounds currently training.',
			'# TYPE qflare_rounds_training gauge',
			`qflare_rounds_training ${gauges.activeRounds}`,
			'# HELP qflare_uptime_seconds Seconds since this process started.',
			'# TYPE qflare_uptime_seconds gauge',
			`qflare_uptime_seconds ${Math.round((Date.now() - this.#started) / 1000)}`
		];
		return `${lines.join('\n')}\n`;
	}
}
