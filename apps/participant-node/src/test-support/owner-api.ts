import type { CreatedApiKey, CreatedJoinToken, Me, Project } from '@qflare/protocol';

/** The coordinator side of a participant test: the owner's API key and the project calls it needs. */
export interface OwnerApi {
	readonly organisationId: string;
	readonly apiKey: string;
	/** A JSON request to /api/v1 as the owner; throws unless the status is 2xx. */
	call<T>(method: string, apiPath: string, body?: unknown): Promise<T>;
	createProject(config: Record<string, unknown>): Promise<Project>;
	/** A fresh join token of the project. */
	joinToken(projectId: string): Promise<string>;
}

async function request<T>(url: string, method: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: T; headers: Headers }> {
	const res = await fetch(url, {
		method,
		headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	return { status: res.status, json: (await res.json()) as T, headers: res.headers };
}

/**
 * Completes a fresh server's first-run setup with its printed token and makes an owner API key.
 * `origin` is read on each call: a test that restarts its server on the same port keeps the key.
 */
export async function bootstrapOwner(origin: () => string, setupToken: string | null): Promise<OwnerApi> {
	if (!setupToken) throw new Error('the server has no setup token: is its store fresh?');
	const api = (p: string) => `${origin()}/api/v1${p}`;
	const setup = await request<Me>(
		api('/auth/setup'),
		'POST',
		{ token: setupToken, email: 'owner@example.test', password: 'owner-password-1', name: 'Owner', organisation: 'Participants' },
		{}
	);
	if (setup.status !== 201) throw new Error(`setup failed: HTTP ${setup.status} ${JSON.stringify(setup.json)}`);
	const cookie = (setup.headers.get('set-cookie') ?? '').split(';')[0];
	const organisationId = setup.json.organisations[0].id;
	const key = await request<CreatedApiKey>(api(`/orgs/${organisationId}/api-keys`), 'POST', { name: 'tests', scope: 'admin', expiresInDays: null }, { cookie });
	if (key.status !== 201) throw new Error(`API key failed: HTTP ${key.status} ${JSON.stringify(key.json)}`);
	const apiKey = key.json.key;
	const call = async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
		const res = await request<T>(api(apiPath), method, body, { authorization: `Bearer ${apiKey}` });
		if (res.status < 200 || res.status > 299) throw new Error(`${method} ${apiPath}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
		return res.json;
	};
	return {
		organisationId,
		apiKey,
		call,
		createProject: (config) => call<Project>('POST', `/orgs/${organisationId}/projects`, config),
		joinToken: async (projectId) => (await call<CreatedJoinToken>('POST', `/projects/${projectId}/join-tokens`, {})).token
	};
}
