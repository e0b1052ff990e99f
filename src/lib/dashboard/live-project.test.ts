import { describe, expect, it } from 'vitest';
import type { Device } from '@qflare/protocol';
import { sortDevices } from './live-project';

const device = (id: string, online: boolean, lastSeen: string, revokedAt: string | null = null) =>
	({ id, online, lastSeen, revokedAt }) as Device;

describe('sortDevices', () => {
	it('puts online devices first and revoked ones last', () => {
		const sorted = sortDevices([
			device('revoked', true, '2026-01-01T00:00:09Z', '2026-01-01T00:00:10Z'),
			device('old', false, '2026-01-01T00:00:01Z'),
			device('on', true, '2026-01-01T00:00:02Z'),
			device('recent', false, '2026-01-01T00:00:05Z')
		]);
		expect(sorted.map((d) => d.id)).toEqual(['on', 'recent', 'old', 'revoked']);
	});
});
