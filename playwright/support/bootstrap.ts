import { SESSION_COOKIE, type CreatedApiKey, type Me } from '@qflare/protocol';

/** The first owner a test server gets; fixed so a later process can sign in to a data directory again. */
export interface OwnerAccount {
	email: string;
	password: string;
	name: string;
	organisation: string;
}

export const E2E_OWNER: OwnerAccount = {
	email: 'owner@qflare.test',
	password: 'e2e owner password',
	name: 'E2E Owner',
	organisation: 'E2E organisation'
};

/** What a harness keeps after bootstrapping: an admin API key for REST calls and the owner's session for pages. */
export interface ServerCredentials {
	apiKey: string;
	organisationId: string;
	/** Value of the qflare_session cookie. */
	sessionToken: string;
}

/** The printed first-run line: `[qflare] first run: open <origin>/setup?token=<token> to create the owner account`. */
const SETUP_LINE = /first run: open (\S+) to create the owner account/;

/** The setup link in a line of server output, or null. */
export function setupLinkIn(line: string): string | null {
	return SETUP_LINE.exec(line)?.[1] ?? null;
}

/** The token a setup link carries. */
export function setupTokenOf(link: string): string {
	const token = new URL(link).searchParams.get('token');
	if (!token) throw new Error(`no token in setup link ${link}`);
	return token;
}

function sessionTokenOf(res: Response): string {
	for (const cookie of res.headers.getSetCookie()) {
		const [pair] = cookie.split(';');
		const eq = pair.indexOf('=');
		if (pair.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(pair.slice(eq + 1).trim());
	}
	throw new Error(`no ${SESSION_COOKIE} cookie in the reply`);
}

async function post(baseUrl: string, path: string, body: unknown, sessionToken?: string): Promise<Response> {
	const res = await fetch(`${baseUrl}/api/v1${path}`, {
		method: 'POST',
		headers: {
			'content-type': 'application/json',
			// Cookie-authenticated writes must come from the server's own origin (CSRF check).
			origin: baseUrl,
			...(sessionToken ? { cookie: `${SESSION_COOKIE}=${encodeURIComponent(sessionToken)}` } : {})
		},
		body: JSON.stringify(body)
	});
	if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
	return res;
}

/** An admin-scope API key of the signed-in owner, made with its session (keys need a session). */
async function adminKey(baseUrl: string, organisationId: string, sessionToken: string): Promise<string> {
	const res = await post(baseUrl, `/orgs/${organisationId}/api-keys`, { name: 'e2e harness', scope: 'admin', expiresInDays: null }, sessionToken);
	return ((await res.json()) as CreatedApiKey).key;
}

async function credentialsFrom(baseUrl: string, res: Response): Promise<ServerCredentials> {
	const sessionToken = sessionTokenOf(res);
	const me = (await res.json()) as Me;
	const organisationId = me.organisations.find((o) => o.role === 'owner')?.id;
	if (!organisationId) throw new Error(`${me.user.email} owns no organisation`);
	return { sessionToken, organisationId, apiKey: await adminKey(baseUrl, organisationId, sessionToken) };
}

/** First run: creates the owner and its organisation with the printed setup token, then an admin API key. */
export async function setupOwner(baseUrl: string, setupToken: string, owner: OwnerAccount = E2E_OWNER): Promise<ServerCredentials> {
	const res = await post(baseUrl, '/auth/setup', { token: setupToken, ...owner });
	return credentialsFrom(baseUrl, res);
}

/** A data directory set up before (by another process): signs the owner in and makes a new admin API key. */
export async function signInOwner(baseUrl: string, owner: OwnerAccount = E2E_OWNER): Promise<ServerCredentials> {
	const res = await post(baseUrl, '/auth/login', { email: owner.email, password: owner.password });
	return credentialsFrom(baseUrl, res);
}
