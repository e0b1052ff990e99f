import { describe, expect, it } from 'vitest';
import { ServerMetrics } from './server-metrics';

describe('ServerMetrics', () => {
	it('renders counters by label and the current gauges in the Prometheus text format', () => {
		const metrics = new ServerMetrics();
		metrics.update('accepted');
		metrics.update('accepted');
		metrics.update('BAD_SIGNATURE');
		metrics.round('committed');
		const text = metrics.render({ devicesOnline: 2, activeRounds: 1 });
		expect(text).toContain('qflare_updates_total{outcome="accepted"} 2\n');
		expect(text).toContain('qflare_updates_total{outcome="BAD_SIGNATURE"} 1\n');
		expect(text).toContain('qflare_rounds_total{status="committed"} 1\n');
		expect(text).not.toContain('status="failed"');
		expect(text).toContain('qflare_devices_online 2\n');
		expect(text).toContain('qflare_rounds_training 1\n');
		expect(text).toContain('# TYPE qflare_updates_total counter');
	});
});
