import { z } from 'zod';

/**
 * Who may do what. Roles follow NVIDIA FLARE's: project admin -> owner, org admin -> admin,
 * lead -> researcher, member -> viewer. A role has every right of the roles below it.
 */
export const Role = z.enum(['owner', 'admin', 'researcher', 'viewer']);
export type Role = z.infer<typeof Role>;

const ROLE_RANK: Record<Role, number> = { viewer: 0, researcher: 1, admin: 2, owner: 3 };

/** True when `role` has at least the rights of `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
	return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The lower of two roles: what an API key of a given scope may do for its creator. */
export function lowerRole(a: Role, b: Role): Role {
	return ROLE_RANK[a] <= ROLE_RANK[b] ? a : b;
}

/** API key scopes and the role each acts with (never more than its creator's role at use time). */
export const ApiKeyScope = z.enum(['read', 'run', 'admin']);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;
export const SCOPE_ROLE: Record<ApiKeyScope, Role> = { read: 'viewer', run: 'researcher', admin: 'admin' };

/** Every right the API checks, with the lowest role that has it (the README's table is generated from this). */
export const RIGHTS = {
	'project.read': 'viewer',
	'model.download': 'viewer',
	'model.predict': 'viewer',
	'members.read': 'viewer',
	'project.create': 'researcher',
	'project.run': 'researcher',
	'joinToken.manage': 'researcher',
	'apiKey.createOwn': 'viewer',
	'device.revoke': 'admin',
	'members.manage': 'admin',
	'apiKey.manageAll': 'admin',
	'audit.read': 'admin',
	'owner.manage': 'owner'
} as const satisfies Record<string, Role>;
export type Right = keyof typeof RIGHTS;

export function can(role: Role, right: Right): boolean {
	return roleAtLeast(role, RIGHTS[right]);
}

/** Login names are e-mail addresses, compared lower-cased. */
export const Email = z
	.string()
	.trim()
	.toLowerCase()
	.max(254)
	.regex(/^[^\s@]+@[^\s@]+$/, 'expected an e-mail address');
/** Long enough to resist guessing, short enough that hashing it is cheap. */
export const Password = z.string().min(10, 'a password has at least 10 characters').max(256);
const Name = z.string().trim().min(1).max(100);
const Secret = z.string().min(16).max(200);

/** POST /api/v1/auth/setup: creates the first owner and organisation with the printed one-time token. */
export const SetupBody = z.object({ token: Secret, email: Email, password: Password, name: Name, organisation: Name }).strict();
export type SetupBody = z.infer<typeof SetupBody>;

/** POST /api/v1/auth/login */
export const LoginBody = z.object({ email: Email, password: z.string().min(1).max(256) }).strict();
export type LoginBody = z.infer<typeof LoginBody>;

/** POST /api/v1/auth/password: other sessions of the user end. */
export const PasswordChangeBody = z.object({ currentPassword: z.string().min(1).max(256), newPassword: Password }).strict();
export type PasswordChangeBody = z.infer<typeof PasswordChangeBody>;

/** POST /api/v1/orgs */
export const CreateOrganisationBody = z.object({ name: Name }).strict();

/** POST /api/v1/orgs/:org/invitations: a link that adds whoever opens it with this role. */
export const CreateInvitationBody = z
	.object({ role: Role, email: Email.optional(), expiresInHours: z.number().int().min(1).max(24 * 30).default(72) })
	.strict();
export type CreateInvitationBody = z.infer<typeof CreateInvitationBody>;

/** POST /api/v1/invitations/accept: a new user gives email, password and name; a signed-in user gives only the token. */
export const AcceptInvitationBody = z
	.object({ token: Secret, email: Email.optional(), password: Password.optional(), name: Name.optional() })
	.strict();
export type AcceptInvitationBody = z.infer<typeof AcceptInvitationBody>;

/** PATCH /api/v1/orgs/:org/members/:userId */
export const ChangeRoleBody = z.object({ role: Role }).strict();

/** POST /api/v1/orgs/:org/api-keys */
export const CreateApiKeyBody = z
	.object({ name: Name, scope: ApiKeyScope, expiresInDays: z.number().int().min(1).max(3650).nullable().default(90) })
	.strict();
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

/** POST /api/v1/projects/:id/join-tokens: null means no expiry / no device limit. */
export const CreateJoinTokenBody = z
	.object({
		label: z.string().trim().max(100).default(''),
		expiresInHours: z.number().int().min(1).max(24 * 365).nullable().default(null),
		maxDevices: z.number().int().min(1).max(1_000_000).nullable().default(null)
	})
	.strict();
export type CreateJoinTokenBody = z.infer<typeof CreateJoinTokenBody>;

/**
 * POST /api/v1/projects/:id/devices/:deviceId/revoke (the body is optional). revokeJoinToken also
 * revokes the join token the device registered with, so that the same phone cannot clear its
 * storage and register again as a new device (nor can anyone else with that link).
 */
export const RevokeDeviceBody = z.object({ revokeJoinToken: z.boolean().optional() }).strict();
export type RevokeDeviceBody = z.infer<typeof RevokeDeviceBody>;

export interface User {
	id: string;
	email: string;
	name: string;
	createdAt: string;
}

export interface Organisation {
	id: string;
	name: string;
	createdAt: string;
}

export interface Membership {
	organisationId: string;
	userId: string;
	role: Role;
	addedAt: string;
}

/** GET /api/v1/auth/me: the caller and every organisation it belongs to. */
export interface Me {
	user: User;
	organisations: Array<Organisation & { role: Role }>;
	/** How the request was authenticated; API keys act in one organisation only. */
	via: 'session' | 'apiKey';
}

/** GET /api/v1/auth/setup: whether the first owner is still to be created. */
export interface SetupState {
	needed: boolean;
}

/** GET /api/v1/orgs/:org/members */
export interface Member extends Membership {
	email: string;
	name: string;
}

/** Never carries the token; the token is shown once, in CreatedInvitation. */
export interface Invitation {
	id: string;
	organisationId: string;
	role: Role;
	email: string | null;
	createdBy: string;
	createdAt: string;
	expiresAt: string;
	acceptedBy: string | null;
	acceptedAt: string | null;
	revokedAt: string | null;
}
export interface CreatedInvitation {
	invitation: Invitation;
	/** Shown once; only its hash is stored. */
	token: string;
	/** Path of the accept page, with the token: /invite?token=... */
	path: string;
}
/** GET /api/v1/invitations/:token: what the accept page shows before anyone signs in. */
export interface InvitationPreview {
	organisationName: string;
	role: Role;
	email: string | null;
	expiresAt: string;
}

export interface ApiKeyRecord {
	id: string;
	organisationId: string;
	userId: string;
	name: string;
	scope: ApiKeyScope;
	/** The first characters of the key, to tell keys apart; not enough to use it. */
	prefix: string;
	createdAt: string;
	expiresAt: string | null;
	lastUsedAt: string | null;
	revokedAt: string | null;
}
export interface CreatedApiKey {
	record: ApiKeyRecord;
	/** `qfk_<id>_<secret>`, shown once. */
	key: string;
}

export interface JoinTokenRecord {
	id: string;
	projectId: string;
	label: string;
	prefix: string;
	createdBy: string;
	createdAt: string;
	expiresAt: string | null;
	maxDevices: number | null;
	devicesJoined: number;
	revokedAt: string | null;
}
export interface CreatedJoinToken {
	record: JoinTokenRecord;
	/** `qjt_<secret>`, shown once. */
	token: string;
	/** Participant page path with the token: /join/<project>?t=<token>. */
	path: string;
}

/** Who did an audited action. */
export interface AuditActor {
	type: 'user' | 'apiKey' | 'device' | 'system';
	/** User id, API key id, device id, or 'cli' / 'server'. */
	id: string;
	/** E-mail of the user (or the key's owner), for people reading the log. */
	label: string;
}

/** One administrative action; the audit log is append-only. */
export interface AuditEntry {
	id: string;
	at: string;
	organisationId: string | null;
	actor: AuditActor;
	/** e.g. project.created, apiKey.revoked, device.revoked, member.roleChanged */
	action: string;
	target: { type: string; id: string };
	/** Client address as the server saw it (behind a proxy: X-Forwarded-For when TRUST_PROXY is set). */
	address: string;
	details: Record<string, string | number | boolean | null>;
}

/** Where a new device's participant page carries its join token: /join/<project>?t=... */
export const JOIN_TOKEN_PARAM = 't';
/** Session cookie name. */
export const SESSION_COOKIE = 'qflare_session';
