import { describe, expect, it } from 'vitest';
import { formatPartitionSpec, parsePartitionSpec } from './partition-spec';

describe('partition spec', () => {
	it('parses and formats iid and dirichlet', () => {
		expect(parsePartitionSpec('iid')).toBe('iid');
		expect(parsePartitionSpec('dirichlet:0.5')).toEqual({ dirichletAlpha: 0.5 });
		expect(formatPartitionSpec({ dirichletAlpha: 0.5 })).toBe('dirichlet:0.5');
		expect(formatPartitionSpec('iid')).toBe('iid');
	});

	it('rejects anything else', () => {
		for (const bad of ['', 'IID', 'dirichlet', 'dirichlet:', 'dirichlet:0', 'dirichlet:-1', 'dirichlet:abc', 'dirichlet:Infinity']) {
			expect(() => parsePartitionSpec(bad)).toThrow('must be "iid" or "dirichlet:ALPHA"');
		}
	});
});
