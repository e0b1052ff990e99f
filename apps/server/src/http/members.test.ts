import type { ApiKeyRecord, AuditEntry, CreatedInvitation, Me } from '@qflare/protocol';
import { DuplicateKeyError } from '@qflare/store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/test-server';
import { AccessFixtures, headersOf, PASSWORD } from './access-fixtures';

describe('member changes, invitations and the credentials they leave behind', () => {
	let t: TestServer;
	let f: AccessFixtures;
	const org = () => t.organisationId;

	beforeAll(async () => {
		t = await startTestServer('members');
		f = await new AccessFixtures(t).setUp();
	}, 120_000);
	afterAll(() => t?.close());

	const audit = async (action: string) => (await f.call<AuditEntry[]>(f.owner, 'GET', `/orgs/${org()}/audit?action=${action}`)).json;
	const invite = async (role = 'viewer') => (await f.call<CreatedInvitation>(f.owner, 'POST', `/orgs/${org()}/invitations`, { role })).json;

	it("removing a member revokes its API keys in the organisation (audited), so a second invitation does not revive them", async () => {
		const user = await f.newUser('researcher');
		const keys = [await f.apiKey(user.caller, org(), 'run'), await f.apiKey(user.caller, org(), 'read')];
		const ownersKey = await f.apiKey(f.owner, org(), 'read');
		expect((await f.call(f.owner, 'DELETE', `/orgs/${org()}/members/${user.id}`)).status).toBe(200);

		const listed = (await f.call<ApiKeyRecord[]>(f.owner, 'GET', `/orgs/${org()}/api-keys`)).json;
		for (const { id } of keys) expect(listed.find((k) => k.id === id)?.revokedAt).toEqual(expect.any(String));
		expect(listed.find((k) => k.id === ownersKey.id)?.revokedAt).toBeNull();
		const revocations = (await audit('apiKey.revoked')).filter((e) => keys.some((k) => k.id === e.target.id));
		expect(revocations).toHaveLength(2);
		for (const entry of revocations) expect(entry.details).toMatchObject({ reason: 'member removed' });

		// Invited again (signed in, so the same account): the old keys stay dead.
		const again = await invite('researcher');
		expect((await f.call(user.caller, 'POST', '/invitations/accept', { token: again.token })).status).toBe(200);
		for (const { caller } of keys) expect((await f.call(caller, 'GET', '/projects')).status).toBe(401);
	});

	it('two owners demoting each other at once: exactly one succeeds, and the organisation keeps an owner', async () => {
		const ownerId = (await f.call<Me>(f.owner, 'GET', '/auth/me')).json.user.id;
		for (let round = 0; round < 3; round++) {
			const second = await f.newUser('viewer');
			expect((await f.call(f.owner, 'PATCH', `/orgs/${org()}/members/${second.id}`, { role: 'owner' })).status).toBe(200);
			// Without the per-organisation queue both count two owners before either writes, and none is left.
			const replies = await Promise.all([
				f.call(f.owner, 'PATCH', `/orgs/${org()}/members/${second.id}`, { role: 'admin' }),
				f.call(second.caller, 'PATCH', `/orgs/${org()}/members/${ownerId}`, { role: 'admin' })
			]);
			const statuses = replies.map((r) => r.status);
			expect(statuses.filter((s) => s === 200)).toHaveLength(1);
			// The loser is no longer an owner itself (403), or would demote the last owner (409).
			expect([403, 409]).toContain(statuses.find((s) => s !== 200));
			const owners = (await t.store.memberships.listByOrganisation(org())).filter((m) => m.role === 'owner');
			expect(owners).toHaveLength(1);
			// The fixture owner is the owner again for the next round and the other tests.
			if (owners[0].userId !== ownerId) expect((await f.call(second.caller, 'PATCH', `/orgs/${org()}/members/${ownerId}`, { role: 'owner' })).status).toBe(200);
			expect((await f.call(f.owner, 'DELETE', `/orgs/${org()}/members/${second.id}`)).status).toBe(200);
		}
	});

	it('of two racing accepts of one invitation with different e-mails, one account is made; the loser leaves no orphan', async () => {
		const { token } = await invite();
		const emails = ['race-a@example.test', 'race-b@example.test'];
		const replies = await Promise.all(emails.map((email) => t.anonymousApi('POST', '/invitations/accept', { token, email, password: PASSWORD, name: 'Racer' })));
		expect(replies.map((r) => r.status).sort()).toEqual([200, 404]);
		const made = await Promise.all(emails.map((e) => t.store.users.getByEmail(e)));
		expect(made.filter((u) => u !== null)).toHaveLength(1);
	});

	it('an e-mail taken between the check and the account: 409, the invitation stays used, and the audit log says so', async () => {
		const { token, invitation } = await invite();
		const create = vi.spyOn(t.store.users, 'create').mockRejectedValueOnce(new DuplicateKeyError('users', new Error('e-mail taken')));
		try {
			const reply = await t.anonymousApi('POST', '/invitations/accept', { token, email: 'late-clash@example.test', password: PASSWORD, name: 'Clash' });
			expect(reply.status).toBe(409);
		} finally {
			create.mockRestore();
		}
		expect(await t.store.users.getByEmail('late-clash@example.test')).toBeNull();
		expect((await t.store.invitations.get(invitation.id))?.acceptedBy).toEqual(expect.any(String));
		expect((await audit('invitation.unused'))[0]).toMatchObject({ target: { type: 'invitation', id: invitation.id } });
		// An e-mail known before the claim is refused before it: the invitation stays open.
		const open = await invite();
		const known = await t.anonymousApi('POST', '/invitations/accept', { token: open.token, email: 'owner@example.test', password: PASSWORD, name: 'Dup' });
		expect(known.status).toBe(409);
		expect((await t.store.invitations.get(open.invitation.id))?.acceptedBy).toBeNull();
	});

	it('an admin-scope API key can neither invite (no account minting) nor sign its owner out everywhere', async () => {
		const key = f.keys.get('admin')!;
		expect((await t.anonymousApi('POST', `/orgs/${org()}/invitations`, { role: 'viewer' }, headersOf(key))).status).toBe(403);
		expect((await t.anonymousApi('POST', '/auth/logout-all', undefined, headersOf(key))).status).toBe(403);
	});
});
