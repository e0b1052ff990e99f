import { describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from './args';

const base = ['--server', 'http://localhost:3000/', '--project', 'p-1', '--data', '/tmp/dev'];

describe('parseCliArgs', () => {
	it('accepts the documented options and normalises the server to its origin', () => {
		const none = { shardFile: null, csvFile: null, imagesDir: null, labelsFile: null, joinToken: null, rotateKey: false };
		expect(parseCliArgs([...base, '--name', ' box 7 ', '--shard', 'mine.qfs'])).toEqual({
			help: false,
			options: { server: 'http://localhost:3000', project: 'p-1', dataDir: '/tmp/dev', name: 'box 7', ...none, shardFile: 'mine.qfs' }
		});
		expect(parseCliArgs([...base, '--csv', 'clinic.csv'])).toEqual({
			help: false,
			options: { server: 'http://localhost:3000', project: 'p-1', dataDir: '/tmp/dev', name: null, ...none, csvFile: 'clinic.csv' }
		});
		expect(parseCliArgs([...base, '--images', 'photos', '--labels', 'labels.csv'])).toMatchObject({
			options: { ...none, imagesDir: 'photos', labelsFile: 'labels.csv' }
		});
		expect(parseCliArgs(['-h'])).toEqual({ help: true });
	});

	it('takes the join token from --join-token, a pasted join link or QFLARE_JOIN_TOKEN, and --rotate-key', () => {
		const token = `qjt_${'a'.repeat(43)}`;
		expect(parseCliArgs([...base, '--join-token', token], {})).toMatchObject({ options: { joinToken: token, rotateKey: false } });
		expect(parseCliArgs([...base, '--join-token', `http://10.0.0.2:3000/join/p-1?t=${token}`], {})).toMatchObject({ options: { joinToken: token } });
		expect(parseCliArgs([...base, '--rotate-key'], { QFLARE_JOIN_TOKEN: token })).toMatchObject({ options: { joinToken: token, rotateKey: true } });
		expect(parseCliArgs(base, {})).toMatchObject({ options: { joinToken: null } });
		expect(() => parseCliArgs([...base, '--join-token', 'short'], {})).toThrow(/not a join token/);
		expect(() => parseCliArgs([...base, '--join-token', 'http://x/join/p'], {})).toThrow(/carries no t= join token/);
	});

	it.each([
		[[], /missing --server, --project, --data/],
		[['--server', 'http://x', '--project', 'p'], /missing --data/],
		[[...base, '--bogus'], /Unknown option '--bogus'/],
		[[...base, 'extra'], /positional/],
		[['--server', 'localhost:3000', '--project', 'p', '--data', 'd'], /http:\/\/ or https:\/\//],
		[['--server', 'not a url', '--project', 'p', '--data', 'd'], /is not a URL/],
		[['--server', 'http://x', '--project', 'a/b', '--data', 'd'], /--project: "a\/b" is not a project id/],
		[['--server', '--project', 'p', '--data', 'd'], /.+/],
		[[...base, '--csv', 'a.csv', '--images', 'photos'], /--csv and --images cannot be used together/],
		[[...base, '--csv', 'a.csv', '--shard', 's.qfs'], /--csv and --shard cannot be used together/],
		[[...base, '--labels', 'labels.csv'], /use it with --images DIR/],
		[[...base, '--csv'], /argument missing/]
	])('rejects %j with a UsageError', (argv, message) => {
		let caught: unknown;
		try {
			parseCliArgs(argv, {});
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(UsageError);
		expect((caught as Error).message).toMatch(message);
	});
});
