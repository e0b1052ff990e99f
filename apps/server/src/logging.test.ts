import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createJsonLogger, pinoLog } from './logging';

describe('JSON logs', () => {
	it('writes one JSON object per event with level, time, instance, message and fields; credential fields are redacted', async () => {
		const chunks: string[] = [];
		const destination = new Writable({
			write(chunk: Buffer, _encoding, done) {
				chunks.push(chunk.toString());
				done();
			}
		});
		const log = pinoLog(createJsonLogger('qflare-1', { destination }));
		log('round committed', { projectId: 'p1', roundId: 'r7', modelVersion: 7, ms: 812.5, duplicate: false, error: null });
		log('plain message');
		log('by mistake', { authorization: 'Bearer qfk_x', cookie: 'qflare_session=abc', token: 'qjt_x' });
		await new Promise((resolve) => setImmediate(resolve));
		const lines = chunks.join('').split('\n').filter(Boolean);
		expect(lines).toHaveLength(3);
		const [first, second, third] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
		expect(first).toMatchObject({ level: 'info', instance: 'qflare-1', msg: 'round committed', projectId: 'p1', roundId: 'r7', modelVersion: 7, ms: 812.5, duplicate: false, error: null });
		expect(typeof first.time).toBe('string');
		expect(Number.isNaN(Date.parse(first.time as string))).toBe(false);
		expect(second).toMatchObject({ level: 'info', msg: 'plain message' });
		expect(third).toMatchObject({ authorization: '[redacted]', cookie: '[redacted]', token: '[redacted]' });
		expect(lines[2]).not.toContain('qfk_x');
	});
});
