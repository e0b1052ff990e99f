import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, parseRetryAfter } from './rest-client';

describe('parseRetryAfter', () => {
	it('reads seconds and HTTP dates', () => {
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(parseRetryAfter('120', now)).toBe(120);
		expect(parseRetryAfter(' 7 ', now)).toBe(7);
		expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90);
		expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
		expect(parseRetryAfter(null, now)).toBeNull();
		expect(parseRetryAfter('soon', now)).toBeNull();
	});
});

describe('api calls', () => {
	afterEach(() => vi.unstubAllGlobals());

	function stub(status: number, body: unknown, headers: Record<string, string> = {}) {
		const fetchMock = vi.fn(
			async (_url: string, _init?: RequestInit) =>
				new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
		);
		vi.stubGlobal('fetch', fetchMock);
		return fetchMock;
	}

	it('posts JSON to the organisation-scoped routes', async () => {
		const fetchMock = stub(201, { record: { id: 't1' }, token: 'qjt_x', path: '/join/p1?t=qjt_x' });
		await api.createJoinToken('p 1', { label: 'lab', expiresInHours: null, maxDevices: 3 });
		const [url, init] = fetchMock.mock.calls[0];
		expect(url).toBe('/api/v1/projects/p%201/join-tokens');
		expect(init?.method).toBe('POST');
		expect(JSON.parse(String(init?.body))).toEqual({ label: 'lab', expiresInHours: null, maxDevices: 3 });
		expect((init?.headers as Record<string, string>)['content-type']).toBe('application/json');

		stub(201, { id: 'p' });
		await api.createProject('org/1', { name: 'x' });
		await api.revokeDevice('p1', 'd1');
		await api.revokeDevice('p1', 'd2', { revokeJoinToken: true });
		await api.acceptInvitation('qin_t');
		await api.acceptInvitation('qin_t', { name: 'N', email: 'n@x.org', password: 'long enough pw' });
		const calls = vi.mocked(fetch).mock.calls.map(([u, i]) => [u, i?.method, i?.body ?? null]);
		expect(calls).toEqual([
			['/api/v1/orgs/org%2F1/projects', 'POST', JSON.stringify({ name: 'x' })],
			['/api/v1/projects/p1/devices/d1/revoke', 'POST', '{}'],
			['/api/v1/projects/p1/devices/d2/revoke', 'POST', JSON.stringify({ revokeJoinToken: true })],
			['/api/v1/invitations/accept', 'POST', JSON.stringify({ token: 'qin_t' })],
			['/api/v1/invitations/accept', 'POST', JSON.stringify({ token: 'qin_t', name: 'N', email: 'n@x.org', password: 'long enough pw' })]
		]);
	});

	it('turns error replies into ApiError with the code and Retry-After', async () => {
		stub(429, { ok: false, code: 'RATE_LIMITED', message: 'slow down' }, { 'retry-after': '30' });
		const error = await api.login({ email: 'a@b.c', password: 'x' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', message: 'slow down', retryAfterSec: 30 });
	});

	it('accepts an empty 204 reply', async () => {
		vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
		await expect(api.logout()).resolves.toBeNull();
	});
});
