import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openRedis } from './redis-cluster';

describe('openRedis', () => {
	it('gives up on a Redis that does not answer, naming its host but not its password', async () => {
		// A port that accepts connections and never speaks: what a wrong host or a firewall looks like.
		const silent = createServer(() => {});
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
		const { port } = silent.address() as { port: number };
		const logged: string[] = [];
		try {
			const error = await openRedis(`redis://:s3cret-password@127.0.0.1:${port}`, (m) => logged.push(m), 300).then(
				() => null,
				(e: unknown) => e as Error
			);
			expect(error?.message).toBe(`Redis at 127.0.0.1:${port} did not answer within 0.3 s`);
			expect(logged.join('\n')).not.toContain('s3cret-password');
		} finally {
			silent.close();
		}
	});
});
