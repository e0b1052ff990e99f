import { describe, expect, it } from 'vitest';
import { ServerMetrics } from './server-metrics';

/** The value of one series in Prometheus text, found by name and the labels it must carry. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
	for (const line of text.split('\n')) {
		const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		if (!match || match[1] !== name) continue;
		const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
		if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
	}
	return null;
}

describe('ServerMetrics', () => {
	it('renders counters by label and the current gauges, every series labelled with the instance', async () => {
		const metrics = new ServerMetrics('host-a:3000');
		metrics.update('accepted');
		metrics.update('accepted');
		metrics.update('BAD_SIGNATURE');
		metrics.round('committed');
		const text = await metrics.render({ devicesOnline: 2, activeRounds: 1 });
		const instance = 'host-a:3000';
		expect(sample(text, 'qflare_updates_total', { outcome: 'accepted', instance })).toBe(2);
		expect(sample(text, 'qflare_updates_total', { outcome: 'BAD_SIGNATURE', instance })).toBe(1);
		expect(sample(text, 'qflare_rounds_total', { status: 'committed', instance })).toBe(1);
		expect(text).not.toContain('status="failed"');
		expect(sample(text, 'qflare_devices_online', { instance })).toBe(2);
		expect(sample(text, 'qflare_rounds_training', { instance })).toBe(1);
		expect(text).toContain('# TYPE qflare_updates_total counter');
		// Every series, default process metrics included, carries the instance label.
		const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
		expect(series.length).toBeGreaterThan(20);
		for (const line of series) expect(line, line).toContain(`instance="${instance}"`);
	});

	it('has the default process metrics under the qflare_ prefix', async () => {
		const text = await new ServerMetrics('x').render({ devicesOnline: 0, activeRounds: 0 });
		expect(text).toContain('# TYPE qflare_process_cpu_seconds_total counter');
		expect(text).toContain('# TYPE qflare_process_resident_memory_bytes gauge');
		expect(text).toContain('# TYPE qflare_nodejs_heap_size_used_bytes gauge');
		expect(text).toContain('# TYPE qflare_nodejs_eventloop_lag_seconds gauge');
	});

	it('observes per-update timings, round durations by status and bytes received', async () => {
		const metrics = new ServerMetrics('i');
		metrics.updateVerified(0.002);
		metrics.updateVerified(0.004);
		metrics.updateFolded(0.0024);
		metrics.updateDurable(0.03);
		metrics.roundFinished('committed', 9.5);
		metrics.roundFinished('failed', 120);
		metrics.bytesReceived(1_000_000);
		metrics.bytesReceived(234);
		metrics.bytesReceived(0);
		const text = await metrics.render({ devicesOnline: 0, activeRounds: 0 });
		expect(sample(text, 'qflare_update_verify_seconds_count')).toBe(2);
		expect(sample(text, 'qflare_update_verify_seconds_sum')).toBeCloseTo(0.006, 9);
		expect(sample(text, 'qflare_update_verify_seconds_bucket', { le: '0.0025' })).toBe(1);
		expect(sample(text, 'qflare_update_verify_seconds_bucket', { le: '0.005' })).toBe(2);
		expect(sample(text, 'qflare_update_fold_seconds_count')).toBe(1);
		expect(sample(text, 'qflare_update_durable_seconds_count')).toBe(1);
		expect(sample(text, 'qflare_round_duration_seconds_count', { status: 'committed' })).toBe(1);
		expect(sample(text, 'qflare_round_duration_seconds_sum', { status: 'failed' })).toBe(120);
		expect(sample(text, 'qflare_round_duration_seconds_bucket', { status: 'committed', le: '10' })).toBe(1);
		expect(sample(text, 'qflare_update_bytes_total')).toBe(1_000_234);
		// roundFinished times rounds; counting them is round()'s, so a caller of both counts once.
		expect(sample(text, 'qflare_rounds_total', { status: 'committed' })).toBeNull();
	});

	it('keeps each instance apart: its own registry and its own label', async () => {
		const a = new ServerMetrics('a:1');
		const b = new ServerMetrics('b:2');
		a.update('accepted');
		b.setInstance('b:3');
		const textA = await a.render({ devicesOnline: 0, activeRounds: 0 });
		const textB = await b.render({ devicesOnline: 0, activeRounds: 0 });
		expect(sample(textA, 'qflare_updates_total', { outcome: 'accepted', instance: 'a:1' })).toBe(1);
		expect(sample(textB, 'qflare_updates_total', { outcome: 'accepted' })).toBeNull();
		expect(sample(textB, 'qflare_devices_online', { instance: 'b:3' })).toBe(0);
	});
});
