import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originAllowed } from './origin-check';
import { startTestServer, type TestServer } from '../test-support/test-server';

describe('originAllowed (one rule for the REST API and the dashboard socket)', () => {
	it('takes no Origin, the own origin and the public origins, nothing else', () => {
		const own = 'http://localhost:3000';
		const extra = ['http://192.168.1.5:3000'];
		expect(originAllowed(undefined, own, extra)).toBe(true);
		expect(originAllowed(own, own, extra)).toBe(true);
		expect(originAllowed('http://192.168.1.5:3000', own, extra)).toBe(true);
		expect(originAllowed('http://evil.example', own, extra)).toBe(false);
		expect(originAllowed('https://localhost:3000', own, extra)).toBe(false);
		expect(originAllowed('null', own, extra)).toBe(false);
	});
});

describe('a Bearer header that is no valid API key: neither CSRF exemption nor a fallback to the cookie', () => {
	let t: TestServer;
	beforeAll(async () => {
		t = await startTestServer('origin-check');
	});
	afterAll(() => t?.close());

	const cookie = () => ({ cookie: t.ownerCookie });
	const bearers = {
		'not a key': 'Bearer whatever',
		'a join token': `Bearer qjt_${'A'.repeat(43)}`,
		'a malformed key': 'Bearer qfk_nope',
		'a key of more than 512 characters': `Bearer qfk_${'A'.repeat(600)}`,
		'an empty bearer': 'Bearer '
	};

	for (const [name, authorization] of Object.entries(bearers)) {
		it(`${name} + a valid cookie: 401 on a read; a foreign write is refused and changes nothing`, async () => {
			expect((await t.anonymousApi('GET', '/auth/me', undefined, { ...cookie(), authorization })).status).toBe(401);
			const forged = await t.anonymousApi('POST', '/orgs', { name: 'forged' }, { ...cookie(), authorization, origin: 'https://evil.example' });
			expect(forged.status).toBe(403);
			const mine = await t.anonymousApi<Array<{ name: string }>>('GET', '/orgs', undefined, cookie());
			expect(mine.json.map((o) => o.name)).not.toContain('forged');
		});
	}

	it('a valid API key needs no Origin check; the cookie alone still works from its own origin', async () => {
		const created = await t.anonymousApi('POST', `/orgs/${t.organisationId}/projects`, { name: 'by key', rounds: 1, minParticipants: 1 }, { authorization: `Bearer ${t.ownerKey}`, origin: 'https://evil.example' });
		expect(created.status).toBe(201);
		expect((await t.anonymousApi('GET', '/auth/me', undefined, cookie())).status).toBe(200);
		expect((await t.anonymousApi('POST', '/orgs', { name: 'own origin' }, { ...cookie(), origin: t.url })).status).toBe(201);
	});
});
