import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../test-support/redis-server';
import { leaseKey, RedisLeases } from './redis-leases';

describe('RedisLeases', () => {
	let redis: RedisServer;
	let client: ReturnType<typeof createClient>;
	beforeAll(async () => {
		redis = await startRedisServer();
		client = createClient({ url: redis.url, RESP: 2 });
		await client.connect();
	});
	afterAll(async () => {
		await client?.quit();
		await redis?.stop();
	});

	it('gives a free lease to one instance, keeps its token while it renews, and a higher token to the next holder', async () => {
		const a = new RedisLeases(client, 'a', 10_000);
		const b = new RedisLeases(client, 'b', 10_000);
		expect(await a.acquire('p1')).toBe(1);
		expect(await b.acquire('p1')).toBeNull();
		// Holding it already: the same token, extended.
		expect(await a.acquire('p1')).toBe(1);
		expect(a.fence('p1')).toBe(1);
		expect(b.fence('p1')).toBeNull();
		expect(a.held()).toEqual(['p1']);
		// Projects have leases of their own.
		expect(await b.acquire('p2')).toBe(1);

		await a.release('p1');
		expect(a.fence('p1')).toBeNull();
		expect(await b.acquire('p1')).toBe(2);
		// Releasing a lease another instance holds leaves it alone.
		await a.release('p1');
		expect(await client.get(leaseKey('p1'))).toMatch(/^b\|2$/);
	});

	it('expires an unrenewed lease: the holder stops believing it before another instance takes it', async () => {
		let clock = 0;
		const a = new RedisLeases(client, 'a', 400, () => clock);
		const b = new RedisLeases(client, 'b', 400);
		const lost: string[] = [];
		a.onLost((p) => lost.push(p));
		expect(await a.acquire('p3')).toBe(1);
		clock = 359;
		expect(a.fence('p3')).toBe(1);
		// 0.9 of the ttl after the renewal was sent: no longer sure, so no longer the leader.
		clock = 360;
		expect(a.fence('p3')).toBeNull();
		expect(lost).toEqual(['p3']);
		await new Promise((r) => setTimeout(r, 450));
		expect(await b.acquire('p3')).toBe(2);
	});

	it('renews held leases, and reports one it finds taken over', async () => {
		const a = new RedisLeases(client, 'a', 300);
		const lost: string[] = [];
		a.onLost((p) => lost.push(p));
		expect(await a.acquire('p4')).toBe(1);
		a.start();
		try {
			await new Promise((r) => setTimeout(r, 700));
			// Renewed every ttl/3: still held well past one ttl.
			expect(a.fence('p4')).toBe(1);
			expect(Number(await client.pTTL(leaseKey('p4')))).toBeGreaterThan(0);
			// Someone else's value now (as if it had expired and been taken): the next renewal finds out.
			await client.set(leaseKey('p4'), 'b|7', { PX: 10_000 });
			await new Promise((r) => setTimeout(r, 250));
			expect(lost).toEqual(['p4']);
			expect(a.fence('p4')).toBeNull();
		} finally {
			a.stop();
		}
	});

	it('refuses an instance id that would make the stored value ambiguous', () => {
		expect(() => new RedisLeases(client, 'a|b', 1_000)).toThrow(/must not contain/);
	});
});
