import {
	API_PREFIX,
	type ApiKeyRecord,
	type AuditEntry,
	type CreateApiKeyBody,
	type CreateInvitationBody,
	type CreateJoinTokenBody,
	type CreateProjectBody,
	type CreatedApiKey,
	type CreatedInvitation,
	type CreatedJoinToken,
	type Device,
	type ErrorReply,
	type Invitation,
	type InvitationPreview,
	type JoinTokenRecord,
	type LoginBody,
	type Me,
	type Member,
	type ModelRecord,
	type Organisation,
	type PasswordChangeBody,
	type Project,
	type RevokeDeviceBody,
	type Role,
	type Round,
	type ServerInfo,
	type SetupBody,
	type SetupState
} from '@qflare/protocol';

/** An HTTP error with the server's error code when it sent one. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string | null,
		message: string,
		/** Seconds the server asked to wait (Retry-After on 429), null when it did not say. */
		readonly retryAfterSec: number | null = null
	) {
		super(message);
		this.name = 'ApiError';
	}
}

function isErrorReply(body: unknown): body is ErrorReply {
	return typeof body === 'object' && body !== null && (body as { ok?: unknown }).ok === false;
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
	if (value === null || value.trim() === '') return null;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed);
	const at = Date.parse(trimmed);
	return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1_000)) : null;
}

// The one place the dashboard talks HTTP: the session cookie rides along because every call is
// same-origin (fetch's default credentials mode), so no token is ever held in script.
async function call<T>(path: string, init?: RequestInit): Promise<T> {
	let response: Response;
	try {
		response = await fetch(`${API_PREFIX}${path}`, {
			...init,
			headers: { accept: 'application/json', ...(init?.body ? { 'content-type': 'application/json' } : {}) }
		});
	} catch (error) {
		throw new ApiError(0, null, `server unreachable: ${error instanceof Error ? error.message : String(error)}`);
	}
	const text = await response.text();
	let body: unknown = null;
	try {
		body = text ? JSON.parse(text) : null;
	} catch {
		// Not JSON (e.g. a proxy's error page): report the status below.
	}
	if (!response.ok || isErrorReply(body)) {
		const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
		if (isErrorReply(body)) throw new ApiError(response.status, body.code, body.message, retryAfter);
		throw new ApiError(response.status, null, `HTTP ${response.status} ${response.statusText}`.trim(), retryAfter);
	}
	return body as T;
}

const json = (method: string, body?: unknown): RequestInit => ({
	method,
	...(body === undefined ? {} : { body: JSON.stringify(body) })
});

const project = (id: string) => `/projects/${encodeURIComponent(id)}`;
const org = (id: string) => `/orgs/${encodeURIComponent(id)}`;

/** A new user accepting an invitation gives all three; a signed-in user gives none of them. */
export type NewAccount = { name: string; email: string; password: string };

export const api = {
	serverInfo: () => call<ServerInfo>('/server-info'),

	// Accounts and sessions
	setupState: () => call<SetupState>('/auth/setup'),
	setup: (body: SetupBody) => call<Me>('/auth/setup', json('POST', body)),
	login: (body: LoginBody) => call<Me>('/auth/login', json('POST', body)),
	me: () => call<Me>('/auth/me'),
	logout: () => call<unknown>('/auth/logout', json('POST')),
	logoutAll: () => call<unknown>('/auth/logout-all', json('POST')),
	changePassword: (body: PasswordChangeBody) => call<unknown>('/auth/password', json('POST', body)),
	previewInvitation: (token: string) => call<InvitationPreview>(`/invitations/${encodeURIComponent(token)}`),
	acceptInvitation: (token: string, account?: NewAccount) =>
		call<Me>('/invitations/accept', json('POST', { token, ...(account ?? {}) })),

	// Organisations
	listOrgs: () => call<Array<Organisation & { role: Role }>>('/orgs'),
	createOrg: (name: string) => call<Organisation>('/orgs', json('POST', { name })),
	listMembers: (orgId: string) => call<Member[]>(`${org(orgId)}/members`),
	changeRole: (orgId: string, userId: string, role: Role) =>
		call<Member>(`${org(orgId)}/members/${encodeURIComponent(userId)}`, json('PATCH', { role })),
	removeMember: (orgId: string, userId: string) => call<unknown>(`${org(orgId)}/members/${encodeURIComponent(userId)}`, json('DELETE')),
	listInvitations: (orgId: string) => call<Invitation[]>(`${org(orgId)}/invitations`),
	createInvitation: (orgId: string, body: CreateInvitationBody) => call<CreatedInvitation>(`${org(orgId)}/invitations`, json('POST', body)),
	revokeInvitation: (orgId: string, id: string) => call<unknown>(`${org(orgId)}/invitations/${encodeURIComponent(id)}`, json('DELETE')),
	listApiKeys: (orgId: string) => call<ApiKeyRecord[]>(`${org(orgId)}/api-keys`),
	createApiKey: (orgId: string, body: CreateApiKeyBody) => call<CreatedApiKey>(`${org(orgId)}/api-keys`, json('POST', body)),
	revokeApiKey: (orgId: string, id: string) => call<unknown>(`${org(orgId)}/api-keys/${encodeURIComponent(id)}`, json('DELETE')),
	listAudit: (orgId: string) => call<AuditEntry[]>(`${org(orgId)}/audit`),

	// Projects
	listProjects: () => call<Project[]>('/projects'),
	createProject: (orgId: string, body: CreateProjectBody) => call<Project>(`${org(orgId)}/projects`, json('POST', body)),
	getProject: (id: string) => call<Project>(project(id)),
	listDevices: (id: string) => call<Device[]>(`${project(id)}/devices`),
	listRounds: (id: string) => call<Round[]>(`${project(id)}/rounds`),
	listModels: (id: string) => call<ModelRecord[]>(`${project(id)}/models`),
	start: (id: string) => call<Project>(`${project(id)}/start`, json('POST')),
	stop: (id: string) => call<Project>(`${project(id)}/stop`, json('POST')),
	listJoinTokens: (id: string) => call<JoinTokenRecord[]>(`${project(id)}/join-tokens`),
	createJoinToken: (id: string, body: CreateJoinTokenBody) => call<CreatedJoinToken>(`${project(id)}/join-tokens`, json('POST', body)),
	revokeJoinToken: (id: string, tokenId: string) =>
		call<unknown>(`${project(id)}/join-tokens/${encodeURIComponent(tokenId)}`, json('DELETE')),
	revokeDevice: (id: string, deviceId: string, body: RevokeDeviceBody = {}) =>
		call<Device>(`${project(id)}/devices/${encodeURIComponent(deviceId)}/revoke`, json('POST', body))
};

/** Where a model version ("latest" or a number) can be downloaded (tfjs layers format). */
export function modelUrls(id: string, version: number | 'latest'): { modelJson: string; weightsBin: string } {
	const base = `${API_PREFIX}${project(id)}/models/${version}`;
	return { modelJson: `${base}/model.json`, weightsBin: `${base}/weights.bin` };
}

/** Where the latest global model can be downloaded (tfjs layers format). */
export function latestModelUrls(id: string): { modelJson: string; weightsBin: string } {
	return modelUrls(id, 'latest');
}
