import { describe, expect, it } from 'vitest';
import { parseEncoding, parseSimArgs, SimUsageError, type SimOptions } from './args';

function options(argv: string[]): SimOptions {
	const parsed = parseSimArgs(argv);
	if (parsed.help) throw new Error('help');
	return parsed.options;
}

describe('sim args: --encoding and --secure', () => {
	it('defaults to f32 updates in the clear', () => {
		expect(options([])).toMatchObject({ updateEncoding: { kind: 'f32' }, secureAggregation: null });
	});

	it('parses each encoding', () => {
		expect(options(['--encoding', 'f16']).updateEncoding).toEqual({ kind: 'f16' });
		expect(options(['--encoding', 'int8']).updateEncoding).toEqual({ kind: 'int8' });
		expect(options(['--encoding', 'top-k:0.1']).updateEncoding).toEqual({ kind: 'top-k', fraction: 0.1 });
		expect(parseEncoding('top-k:0.5')).toEqual({ kind: 'top-k', fraction: 0.5 });
		for (const bad of ['top-k', 'top-k:', 'top-k:0', 'top-k:0.6', 'top-k:1.5', 'top-k:x', 'int4', 'f16:0.1']) {
			expect(() => parseEncoding(bad), bad).toThrow(SimUsageError);
		}
	});

	it('--secure sets clip 1, 10 000 samples per client and an automatic degree', () => {
		const secure = options(['--secure', '--node-participants', '4']);
		expect(secure.secureAggregation).toEqual({ clip: 1, maxSamplesPerClient: 10_000, degree: null });
		// 4 participants: the quorum is 3 (half would be 2, too few for secure aggregation).
		expect(options(['--secure', '--browsers', '1', '--node-participants', '3']).minParticipants).toBe(3);
		expect(options(['--browsers', '1', '--node-participants', '3']).minParticipants).toBe(2);
		expect(() => options(['--secure', '--browsers', '1', '--node-participants', '3', '--min-participants', '2'])).toThrow(/at least 3 participants/);
	});

	it('refuses --secure with what the server would refuse', () => {
		expect(() => options(['--secure', '--node-participants', '4', '--encoding', 'int8'])).toThrow(/int8 cannot be masked/);
		expect(() => options(['--secure', '--node-participants', '4', '--strategy', 'median'])).toThrow(/median needs each participant's update/);
		// 2 browsers, default quorum 1: fewer than the 3 secure aggregation needs.
		expect(() => options(['--secure'])).toThrow(/at least 3 participants/);
	});
});
