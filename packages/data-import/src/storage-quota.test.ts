import { describe, expect, it } from 'vitest';
import { formatBytes, preparedByteLength, storageQuotaProblem } from './storage-quota';
import type { PreparedData } from './prepared-data';

describe('storageQuotaProblem', () => {
	it('is null when the data fits or the browser gives no quota', () => {
		expect(storageQuotaProblem(1_000, { quota: 10_000, usage: 9_000 })).toBeNull();
		expect(storageQuotaProblem(1_000, {})).toBeNull();
		expect(storageQuotaProblem(1_000, { quota: 1_000 })).toBeNull();
	});

	it('says what is needed, what is left, the quota and the usage when it does not fit', () => {
		expect(storageQuotaProblem(12_300_000, { quota: 50_000_000, usage: 45_000_000 })).toBe(
			'The prepared data needs 12.3 MB, but this browser lets this site store only 5.0 MB more (quota 50.0 MB, 45.0 MB in use). ' +
				'Free up disk space, delete other data this site keeps, or import fewer files.'
		);
		expect(storageQuotaProblem(2_000, { quota: 1_000, usage: 1_500 })).toMatch(/store only 0 bytes more \(quota 1\.0 kB, 1\.5 kB in use\)/);
	});

	it('formats sizes in decimal units and counts the prepared arrays', () => {
		expect(formatBytes(999)).toBe('999 bytes');
		expect(formatBytes(1_500_000_000)).toBe('1.5 GB');
		const data = {
			train: { count: 2, inputs: new Float32Array(6), targets: new Uint8Array(2) },
			holdOut: { count: 1, inputs: new Float32Array(3), targets: new Uint8Array(1) }
		} as unknown as PreparedData;
		expect(preparedByteLength(data)).toBe(24 + 2 + 12 + 1);
	});
});
