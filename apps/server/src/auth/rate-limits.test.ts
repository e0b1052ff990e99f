import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisClient } from '../cluster/redis-cluster';
import { startRedisServer, type RedisServer } from '../test-support/redis-server';
import { addressKey, DEFAULT_RATE_LIMITS, rateLimitsFromEnv, RateLimits } from './rate-limits';

describe('addressKey: what a client address counts under in per-address limits', () => {
	it('keeps IPv4 addresses and anything that is no address', () => {
		expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
		expect(addressKey('unknown')).toBe('unknown');
		expect(addressKey('')).toBe('');
	});

	it('counts IPv4-mapped IPv6 as the IPv4 address, in either notation', () => {
		expect(addressKey('::ffff:1.2.3.4')).toBe('1.2.3.4');
		expect(addressKey('::FFFF:203.0.113.7')).toBe('203.0.113.7');
		expect(addressKey('::ffff:c000:0280')).toBe('192.0.2.128');
		expect(addressKey('0:0:0:0:0:ffff:102:304')).toBe('1.2.3.4');
	});

	it('counts IPv6 by its /64 prefix, whatever the notation', () => {
		expect(addressKey('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3:8d3::/64');
		expect(addressKey('2001:0DB8:85A3:08D3:ffff:ffff:ffff:ffff')).toBe('2001:db8:85a3:8d3::/64');
		expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
		expect(addressKey('2001:db8:0:1::abcd')).toBe('2001:db8:0:1::/64');
		expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
		expect(addressKey('::1')).toBe('0:0:0:0::/64');
		expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
	});

	it('makes two addresses of one /64 share a limit', async () => {
		const limits = new RateLimits({ login: { points: 1, durationSec: 60 } });
		expect(await limits.consume('login', addressKey('2001:db8:1:2::a'))).toEqual({ ok: true });
		expect((await limits.consume('login', addressKey('2001:db8:1:2::b'))).ok).toBe(false);
		expect(await limits.consume('login', addressKey('2001:db8:1:3::a'))).toEqual({ ok: true });
	});
});

describe('rate limits from the environment', () => {
	it('QFLARE_JOIN_RATE_LIMIT raises registrations and login challenges (never below the default)', () => {
		expect(DEFAULT_RATE_LIMITS.challenge).toEqual({ points: 600, durationSec: 60 });
		expect(rateLimitsFromEnv({})).toEqual({});
		expect(rateLimitsFromEnv({ QFLARE_JOIN_RATE_LIMIT: '1000' })).toEqual({
			registration: { points: 1000, durationSec: 60 },
			challenge: { points: 2000, durationSec: 60 }
		});
		expect(rateLimitsFromEnv({ QFLARE_JOIN_RATE_LIMIT: '10' }).challenge).toEqual({ points: 600, durationSec: 60 });
	});
});

describe('rate limits shared through Redis', () => {
	let redis: RedisServer;
	const clients: RedisClient[] = [];
	beforeAll(async () => {
		redis = await startRedisServer();
	});
	afterAll(async () => {
		for (const c of clients) await c.quit().catch(() => undefined);
		await redis?.stop();
	});
	const connect = async () => {
		const client = await openRedis(redis.url, () => {});
		clients.push(client);
		return client;
	};

	it('counts attempts on every instance against one limit, and resets it everywhere', async () => {
		const limit = { login: { points: 3, durationSec: 60 } };
		const a = new RateLimits(limit, await connect());
		const b = new RateLimits(limit, await connect());
		expect(await a.consume('login', '203.0.113.7')).toEqual({ ok: true });
		expect(await b.consume('login', '203.0.113.7')).toEqual({ ok: true });
		expect(await a.consume('login', '203.0.113.7')).toEqual({ ok: true });
		// The fourth attempt, on the other instance: refused.
		expect(await b.consume('login', '203.0.113.7')).toMatchObject({ ok: false });
		expect(await a.check('login', '203.0.113.7')).toMatchObject({ ok: false });
		expect(await b.consume('login', '198.51.100.1')).toEqual({ ok: true });
		await b.reset('login', '203.0.113.7');
		expect(await a.consume('login', '203.0.113.7')).toEqual({ ok: true });
	});

	it('falls back to counting in memory while Redis does not answer', async () => {
		const client = await connect();
		const limits = new RateLimits({ setup: { points: 2, durationSec: 60 } }, client);
		await client.quit();
		expect(await limits.consume('setup', 'x')).toEqual({ ok: true });
		expect(await limits.consume('setup', 'x')).toEqual({ ok: true });
		expect(await limits.consume('setup', 'x')).toMatchObject({ ok: false });
	});
});
