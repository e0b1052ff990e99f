import { can, roleAtLeast, Role, SCOPE_ROLE, ApiKeyScope, type ApiKeyRecord, type Invitation, type JoinTokenRecord, type Organisation, type Project } from '@qflare/protocol';

// What the dashboard offers to whom, and how access records read. The server enforces every one
// of these rules itself; the UI only hides what would be refused anyway.

export type OrgWithRole = Organisation & { role: Role };

export const ROLES: readonly Role[] = Role.options;
export const SCOPES: readonly ApiKeyScope[] = ApiKeyScope.options;

/** Roles a caller may hand out (invitations and role changes): only owners make owners. */
export function grantableRoles(caller: Role): Role[] {
	if (!can(caller, 'members.manage')) return [];
	return ROLES.filter((r) => r !== 'owner' || can(caller, 'owner.manage'));
}

/** Whether the caller may change or remove a member who now has `target`. */
export function canManageMember(caller: Role, target: Role): boolean {
	return can(caller, 'members.manage') && (target !== 'owner' || can(caller, 'owner.manage'));
}

/** API key scopes whose role does not exceed the caller's. */
export function allowedScopes(caller: Role): ApiKeyScope[] {
	return SCOPES.filter((s) => roleAtLeast(caller, SCOPE_ROLE[s]));
}

/** Own keys can always be revoked; others' only with apiKey.manageAll. */
export function canRevokeKey(caller: Role, callerId: string, key: ApiKeyRecord): boolean {
	return key.revokedAt === null && (key.userId === callerId || can(caller, 'apiKey.manageAll'));
}

/** The sections of an organisation page the caller sees. */
export function orgSections(caller: Role): { members: boolean; manageMembers: boolean; invitations: boolean; apiKeys: boolean; audit: boolean } {
	return {
		members: can(caller, 'members.read'),
		manageMembers: can(caller, 'members.manage'),
		invitations: can(caller, 'members.manage'),
		apiKeys: can(caller, 'apiKey.createOwn'),
		audit: can(caller, 'audit.read')
	};
}

/** The project-page controls the caller sees. */
export function projectActions(caller: Role | null): { run: boolean; joinLinks: boolean; revokeDevices: boolean } {
	if (caller === null) return { run: false, joinLinks: false, revokeDevices: false };
	return { run: can(caller, 'project.run'), joinLinks: can(caller, 'joinToken.manage'), revokeDevices: can(caller, 'device.revoke') };
}

export function roleIn(orgs: readonly OrgWithRole[], organisationId: string | undefined): Role | null {
	return orgs.find((o) => o.id === organisationId)?.role ?? null;
}

/** Projects of one organisation, newest first. */
export function projectsOf(projects: readonly Project[], organisationId: string): Project[] {
	return projects.filter((p) => p.organisationId === organisationId).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** The organisation to show: the remembered one while the caller is still in it, else the first. */
export function pickOrg(orgs: readonly OrgWithRole[], remembered: string | null): string | null {
	if (remembered && orgs.some((o) => o.id === remembered)) return remembered;
	return orgs[0]?.id ?? null;
}

/** A span in compact words: "40 s", "12 min", "5 h", "3 d", "2 mo", "1 y". */
export function span(ms: number): string {
	const s = Math.max(0, Math.floor(ms / 1_000));
	if (s < 60) return `${s} s`;
	if (s < 3_600) return `${Math.floor(s / 60)} min`;
	if (s < 86_400) return `${Math.floor(s / 3_600)} h`;
	const d = Math.floor(s / 86_400);
	if (d < 60) return `${d} d`;
	if (d < 730) return `${Math.floor(d / 30)} mo`;
	return `${Math.floor(d / 365)} y`;
}

/** How old a timestamp is (a device key's age), or "–" when unknown. */
export function age(iso: string | null | undefined, now = Date.now()): string {
	const t = iso ? Date.parse(iso) : Number.NaN;
	return Number.isFinite(t) ? span(now - t) : '–';
}

/** "never", "expired", or "in 3 d" style. */
export function expiry(iso: string | null, now = Date.now()): string {
	if (iso === null) return 'never';
	const t = Date.parse(iso);
	if (!Number.isFinite(t)) return '–';
	return t <= now ? 'expired' : `in ${span(t - now)}`;
}

export type RecordState = 'active' | 'revoked' | 'expired' | 'used up' | 'accepted';

export function joinTokenState(t: JoinTokenRecord, now = Date.now()): RecordState {
	if (t.revokedAt !== null) return 'revoked';
	if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return 'expired';
	if (t.maxDevices !== null && t.devicesJoined >= t.maxDevices) return 'used up';
	return 'active';
}

export function invitationState(i: Invitation, now = Date.now()): RecordState {
	if (i.acceptedAt !== null || i.acceptedBy !== null) return 'accepted';
	if (i.revokedAt !== null) return 'revoked';
	if (Date.parse(i.expiresAt) <= now) return 'expired';
	return 'active';
}

export function apiKeyState(k: ApiKeyRecord, now = Date.now()): RecordState {
	if (k.revokedAt !== null) return 'revoked';
	if (k.expiresAt !== null && Date.parse(k.expiresAt) <= now) return 'expired';
	return 'active';
}

/** Badge class for a state (app.css: ok, warn, bad). */
export function stateClass(state: RecordState): string {
	return state === 'active' ? 'ok' : state === 'revoked' ? 'bad' : state === 'accepted' ? 'info' : 'warn';
}

/** A wait in words for a rate-limited form. */
export function waitText(seconds: number | null): string {
	if (seconds === null) return 'a while';
	if (seconds < 60) return `${Math.max(1, seconds)} s`;
	return `${Math.ceil(seconds / 60)} min`;
}

/**
 * Where to go after signing in: only a path on this site (an absolute or protocol-relative URL in
 * ?next= would make the login page an open redirect).
 */
export function safeNext(next: string | null, fallback = '/admin'): string {
	if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
	return next;
}
