import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord, Invitation, JoinTokenRecord, Project } from '@qflare/protocol';
import {
	age,
	allowedScopes,
	apiKeyState,
	canManageMember,
	canRevokeKey,
	expiry,
	grantableRoles,
	invitationState,
	joinTokenState,
	orgSections,
	pickOrg,
	projectActions,
	projectsOf,
	safeNext,
	waitText
} from './access-view';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const H = 3_600_000;
const D = 24 * H;

describe('role-gated actions', () => {
	it('lets only owners grant or manage the owner role', () => {
		expect(grantableRoles('owner')).toEqual(['owner', 'admin', 'researcher', 'viewer']);
		expect(grantableRoles('admin')).toEqual(['admin', 'researcher', 'viewer']);
		expect(grantableRoles('researcher')).toEqual([]);
		expect(canManageMember('admin', 'owner')).toBe(false);
		expect(canManageMember('admin', 'researcher')).toBe(true);
		expect(canManageMember('owner', 'owner')).toBe(true);
		expect(canManageMember('viewer', 'viewer')).toBe(false);
	});

	it('offers API key scopes up to the caller role', () => {
		expect(allowedScopes('viewer')).toEqual(['read']);
		expect(allowedScopes('researcher')).toEqual(['read', 'run']);
		expect(allowedScopes('admin')).toEqual(['read', 'run', 'admin']);
		expect(allowedScopes('owner')).toEqual(['read', 'run', 'admin']);
	});

	it('lets a member revoke their own keys and admins everyone\'s', () => {
		const key: ApiKeyRecord = {
			id: 'k1', organisationId: 'o', userId: 'u1', name: 'n', scope: 'read', prefix: 'qfk_k1',
			createdAt: iso(-D), expiresAt: null, lastUsedAt: null, revokedAt: null
		};
		expect(canRevokeKey('viewer', 'u1', key)).toBe(true);
		expect(canRevokeKey('researcher', 'u2', key)).toBe(false);
		expect(canRevokeKey('admin', 'u2', key)).toBe(true);
		expect(canRevokeKey('owner', 'u1', { ...key, revokedAt: iso(-H) })).toBe(false);
	});

	it('shows organisation sections by role', () => {
		expect(orgSections('viewer')).toEqual({ members: true, manageMembers: false, invitations: false, apiKeys: true, audit: false });
		expect(orgSections('admin')).toEqual({ members: true, manageMembers: true, invitations: true, apiKeys: true, audit: true });
	});

	it('shows project controls by role', () => {
		expect(projectActions(null)).toEqual({ run: false, joinLinks: false, revokeDevices: false });
		expect(projectActions('viewer')).toEqual({ run: false, joinLinks: false, revokeDevices: false });
		expect(projectActions('researcher')).toEqual({ run: true, joinLinks: true, revokeDevices: false });
		expect(projectActions('admin')).toEqual({ run: true, joinLinks: true, revokeDevices: true });
	});
});

describe('organisations and projects', () => {
	const orgs = [
		{ id: 'a', name: 'A', createdAt: iso(0), role: 'owner' as const },
		{ id: 'b', name: 'B', createdAt: iso(0), role: 'viewer' as const }
	];

	it('keeps a remembered organisation only while the caller is in it', () => {
		expect(pickOrg(orgs, 'b')).toBe('b');
		expect(pickOrg(orgs, 'gone')).toBe('a');
		expect(pickOrg(orgs, null)).toBe('a');
		expect(pickOrg([], 'a')).toBeNull();
	});

	it('filters projects by organisation, newest first', () => {
		const p = (id: string, organisationId: string, createdAt: string) => ({ id, organisationId, createdAt }) as Project;
		const list = [p('1', 'a', iso(-D)), p('2', 'b', iso(0)), p('3', 'a', iso(0))];
		expect(projectsOf(list, 'a').map((x) => x.id)).toEqual(['3', '1']);
		expect(projectsOf(list, 'c')).toEqual([]);
	});
});

describe('ages and expiry', () => {
	it('formats key age compactly', () => {
		expect(age(iso(-30_000), NOW)).toBe('30 s');
		expect(age(iso(-5 * 60_000), NOW)).toBe('5 min');
		expect(age(iso(-3 * H), NOW)).toBe('3 h');
		expect(age(iso(-12 * D), NOW)).toBe('12 d');
		expect(age(iso(-90 * D), NOW)).toBe('3 mo');
		expect(age(iso(-800 * D), NOW)).toBe('2 y');
		expect(age(iso(60_000), NOW)).toBe('0 s');
		expect(age('not a date', NOW)).toBe('–');
		expect(age(null, NOW)).toBe('–');
	});

	it('describes expiry', () => {
		expect(expiry(null, NOW)).toBe('never');
		expect(expiry(iso(-1), NOW)).toBe('expired');
		expect(expiry(iso(2 * D), NOW)).toBe('in 2 d');
		expect(expiry(iso(90 * 60_000), NOW)).toBe('in 1 h');
	});
});

describe('record states', () => {
	const token: JoinTokenRecord = {
		id: 't', projectId: 'p', label: '', prefix: 'qjt_abcdef', createdBy: 'u', createdAt: iso(-D),
		expiresAt: null, maxDevices: null, devicesJoined: 0, revokedAt: null
	};

	it('tells join tokens apart', () => {
		expect(joinTokenState(token, NOW)).toBe('active');
		expect(joinTokenState({ ...token, maxDevices: 2, devicesJoined: 2 }, NOW)).toBe('used up');
		expect(joinTokenState({ ...token, expiresAt: iso(-1) }, NOW)).toBe('expired');
		expect(joinTokenState({ ...token, expiresAt: iso(-1), revokedAt: iso(-2) }, NOW)).toBe('revoked');
	});

	it('tells invitations apart', () => {
		const inv: Invitation = {
			id: 'i', organisationId: 'o', role: 'viewer', email: null, createdBy: 'u', createdAt: iso(-D),
			expiresAt: iso(D), acceptedBy: null, acceptedAt: null, revokedAt: null
		};
		expect(invitationState(inv, NOW)).toBe('active');
		expect(invitationState({ ...inv, acceptedBy: 'v', acceptedAt: iso(-H) }, NOW)).toBe('accepted');
		expect(invitationState({ ...inv, revokedAt: iso(-H) }, NOW)).toBe('revoked');
		expect(invitationState({ ...inv, expiresAt: iso(-H) }, NOW)).toBe('expired');
	});

	it('tells API keys apart', () => {
		const key = { expiresAt: null, revokedAt: null } as ApiKeyRecord;
		expect(apiKeyState(key, NOW)).toBe('active');
		expect(apiKeyState({ ...key, expiresAt: iso(-1) }, NOW)).toBe('expired');
		expect(apiKeyState({ ...key, revokedAt: iso(-1) }, NOW)).toBe('revoked');
	});
});

describe('sign-in helpers', () => {
	it('says how long to wait when rate limited', () => {
		expect(waitText(null)).toBe('a while');
		expect(waitText(0)).toBe('1 s');
		expect(waitText(42)).toBe('42 s');
		expect(waitText(61)).toBe('2 min');
		expect(waitText(900)).toBe('15 min');
	});

	it('follows ?next= only to a path on this site', () => {
		expect(safeNext('/admin/projects/p1')).toBe('/admin/projects/p1');
		expect(safeNext('/invite?token=qin_x')).toBe('/invite?token=qin_x');
		expect(safeNext('https://evil.example')).toBe('/admin');
		expect(safeNext('//evil.example/x')).toBe('/admin');
		expect(safeNext('/\\evil.example')).toBe('/admin');
		expect(safeNext(null)).toBe('/admin');
		expect(safeNext('javascript:alert(1)')).toBe('/admin');
	});
});
