import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_OWNER, type TestServer } from '../test-support/test-server';

interface Raw {
	status: number;
	code: string | null;
	headers: Record<string, string | string[] | undefined>;
}

/** A request exactly as written: no URL normalisation, any header, any bytes. */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Raw> {
	const { hostname, port } = new URL(url);
	return new Promise((resolve, reject) => {
		const req = httpRequest({ hostname, port, method, path, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				let code: string | null = null;
				try {
					code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string }).code ?? null;
				} catch {
					code = null;
				}
				resolve({ status: res.statusCode ?? 0, code, headers: res.headers });
			});
		});
		req.on('error', reject);
		if (body !== undefined) req.write(body);
		req.end();
	});
}

const json = { 'content-type': 'application/json' };
const nested = (depth: number) => `{"name":${'['.repeat(depth)}1${']'.repeat(depth)}}`;

interface Case {
	name: string;
	status: number;
	code?: string;
	send(t: TestServer, ctx: { key: Record<string, string>; session: Record<string, string>; org: string; project: string }): Promise<Raw>;
}

const CASES: Case[] = [
	{ name: 'login body of 100 KB', status: 413, code: 'TOO_LARGE', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(100_000) })) },
	{ name: 'project body of 70 KB', status: 413, code: 'TOO_LARGE', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, JSON.stringify({ name: 'x', pad: 'y'.repeat(70_000) })) },
	{
		name: 'predict body of 9 MB',
		status: 413,
		code: 'TOO_LARGE',
		send: (t, c) => raw(t.url, 'POST', `/api/v1/projects/${c.project}/models/0/predict`, { ...json, ...c.key }, JSON.stringify({ images: ['A'.repeat(9_000_000)] }))
	},
	{
		name: 'gzip body inflating to 2 MB (a small zip bomb)',
		status: 413,
		code: 'TOO_LARGE',
		send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', { ...json, 'content-encoding': 'gzip' }, gzipSync(Buffer.from(`{"email":"${' '.repeat(2_000_000)}"}`)))
	},
	{ name: 'unknown content-encoding', status: 415, send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', { ...json, 'content-encoding': 'x-weird' }, '{}') },
	{ name: 'JSON in UTF-16', status: 415, send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', { 'content-type': 'application/json; charset=utf-16le' }, Buffer.from('{}', 'utf16le')) },
	{ name: 'bad JSON on login', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, '{"email":') },
	{ name: 'bad JSON on project creation', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, "{name:'x'}") },
	{ name: 'JSON nested 33 deep', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, nested(32)) },
	{ name: 'JSON nested 20 000 deep', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, nested(20_000)) },
	{ name: 'JSON nested 20 000 deep on predict (8 MB limit)', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/projects/${c.project}/models/0/predict`, { ...json, ...c.key }, nested(20_000)) },
	{ name: 'brackets 20 000 deep inside a string (not nesting)', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, JSON.stringify({ email: '['.repeat(20_000), password: 'x' })) },
	{ name: 'top-level JSON null', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, 'null') },
	{ name: 'top-level JSON array', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, '[1,2,3]') },
	{ name: 'wrong types on login', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, JSON.stringify({ email: 5, password: [] })) },
	{ name: 'wrong types on setup', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/setup', json, JSON.stringify({ token: {}, email: null })) },
	{ name: 'wrong types on invitation accept', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/invitations/accept', json, JSON.stringify({ token: 12345678901234567 })) },
	{ name: 'wrong types on project creation', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, JSON.stringify({ name: 123, rounds: 'many' })) },
	{ name: 'wrong types on join token creation', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/projects/${c.project}/join-tokens`, { ...json, ...c.key }, JSON.stringify({ maxDevices: 'lots', expiresInHours: -1 })) },
	{ name: 'unknown role on invitation', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/invitations`, { ...json, ...c.session }, JSON.stringify({ role: 'god' })) },
	{ name: 'predict with images that are not base64', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/projects/${c.project}/models/0/predict`, { ...json, ...c.key }, JSON.stringify({ images: ['%%%'] })) },
	{ name: 'predict with base64 that is no image', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/projects/${c.project}/models/0/predict`, { ...json, ...c.key }, JSON.stringify({ images: ['AAAAAAAA'] })) },
	{ name: '__proto__ key on login', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, '{"__proto__":{"admin":true},"email":"a@b.c","password":"x"}') },
	{ name: 'constructor.prototype key on project creation', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, '{"name":"x","constructor":{"prototype":{"polluted":1}}}') },
	{ name: 'JSON body sent as text/plain', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', { 'content-type': 'text/plain' }, JSON.stringify({ email: 'a@b.c', password: 'x' })) },
	{ name: 'e-mail of 10 000 characters', status: 400, code: 'SCHEMA_INVALID', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, JSON.stringify({ email: `${'a'.repeat(10_000)}@b.c`, password: 'x' })) },
	{ name: 'unicode junk e-mail (NUL, RTL override, emoji)', status: 401, code: 'UNAUTHENTICATED', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', json, JSON.stringify({ email: 'a\u0000\u202e💥@b.c', password: '\uffff\ud800' })) },
	{ name: 'lone surrogates and NUL in a project name', status: 201, send: (t, c) => raw(t.url, 'POST', `/api/v1/orgs/${c.org}/projects`, { ...json, ...c.key }, '{"name":"\\ud800\\u0000\\u202e x","rounds":1,"minParticipants":1}') },
	{ name: 'project id of 5 000 characters', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${'a'.repeat(5_000)}`, c.key) },
	{ name: 'invitation token of 5 000 characters', status: 404, code: 'NOT_FOUND', send: (t) => raw(t.url, 'GET', `/api/v1/invitations/qin_${'a'.repeat(5_000)}`) },
	{ name: 'emoji project id', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${encodeURIComponent('💥')}`, c.key) },
	{ name: 'malformed %-escape in a path', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', '/api/v1/projects/%E0%A4%A', c.key) },
	{ name: 'encoded path traversal as a project id', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', '/api/v1/projects/..%2F..%2Fetc%2Fpasswd', c.key) },
	{ name: "'..' as a project id", status: 404, code: 'UNKNOWN_PROJECT', send: (t, c) => raw(t.url, 'GET', '/api/v1/projects/%2e%2e/devices', c.key) },
	{ name: 'raw ../ traversal in the path', status: 404, code: 'NOT_FOUND', send: (t, c) => raw(t.url, 'GET', '/api/v1/projects/../../../../etc/passwd', c.key) },
	{ name: 'traversal in a model version', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${c.project}/models/..%2F..%2Fx/weights.bin`, c.key) },
	{ name: 'model version above any integer', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${c.project}/models/99999999999999999999/model.json`, c.key) },
	{ name: 'round query that is not a number', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${c.project}/evaluations?round=abc`, c.key) },
	{ name: 'round query given twice', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${c.project}/evaluations?round=1&round=2`, c.key) },
	{ name: 'audit limit of -1', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/orgs/${c.org}/audit?limit=-1`, c.key) },
	{ name: 'shard query with a 500-character device id', status: 400, code: 'SCHEMA_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/projects/${c.project}/shard?device=${'d'.repeat(500)}&access=${'a'.repeat(43)}`) },
	{ name: 'Authorization header of 12 KB', status: 401, code: 'UNAUTHENTICATED', send: (t) => raw(t.url, 'GET', '/api/v1/auth/me', { authorization: `Bearer qfk_${'a'.repeat(12_000)}` }) },
	{ name: 'headers over 16 KB (Node refuses them)', status: 431, send: (t) => raw(t.url, 'GET', '/api/v1/auth/me', { cookie: `qflare_session=${'a'.repeat(20_000)}` }) },
	{ name: 'garbage session cookie', status: 401, code: 'UNAUTHENTICATED', send: (t) => raw(t.url, 'GET', '/api/v1/auth/me', { cookie: 'qflare_session=%ZZ; qflare_session=\u00ff; =;;' }) },
	{ name: 'API key of the right shape but unknown', status: 401, code: 'UNAUTHENTICATED', send: (t) => raw(t.url, 'GET', '/api/v1/projects', { authorization: `Bearer qfk_000000000000_${'A'.repeat(43)}` }) },
	{ name: 'join token of another shape', status: 401, code: 'JOIN_TOKEN_INVALID', send: (t, c) => raw(t.url, 'GET', `/api/v1/join/${c.project}`, { authorization: 'Bearer qjt_../../etc' }) },
	{ name: 'unknown method on a known path', status: 404, code: 'NOT_FOUND', send: (t, c) => raw(t.url, 'PUT', '/api/v1/projects', c.key, '{}') },
	{ name: 'unknown API route with %00 and %ff', status: 404, code: 'NOT_FOUND', send: (t) => raw(t.url, 'GET', '/api/v1/%00%ff/x') },
	{ name: "raw non-ASCII byte in the request line (Node's parser refuses it)", status: 400, send: (t) => raw(t.url, 'GET', '/api/v1/\u00e9') },
	{ name: 'cookie-authenticated POST from a foreign Origin', status: 403, code: 'FORBIDDEN', send: (t) => raw(t.url, 'POST', '/api/v1/auth/logout', { cookie: 'qflare_session=x', origin: 'https://evil.example' }) },
	{ name: 'login from a foreign Origin', status: 403, code: 'FORBIDDEN', send: (t) => raw(t.url, 'POST', '/api/v1/auth/login', { ...json, origin: 'null' }, JSON.stringify({ email: TEST_OWNER.email, password: TEST_OWNER.password })) }
];

describe('hostile HTTP input: a 4xx with a code, never a 5xx', () => {
	let t: TestServer;
	let ctx: { key: Record<string, string>; session: Record<string, string>; org: string; project: string };

	beforeAll(async () => {
		t = await startTestServer('hostile');
		const project = await t.createProject({ name: 'hostile', rounds: 2, minParticipants: 1 });
		await t.api('POST', `/projects/${project.id}/start`);
		await t.api('POST', `/projects/${project.id}/stop`);
		ctx = { key: { authorization: `Bearer ${t.ownerKey}` }, session: { cookie: t.ownerCookie }, org: t.organisationId, project: project.id };
	}, 60_000);
	afterAll(() => t?.close());

	for (const c of CASES) {
		it(`${c.name} -> ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
			const reply = await c.send(t, ctx);
			expect(reply.status).toBe(c.status);
			if (c.code) expect(reply.code).toBe(c.code);
		});
	}

	it('logged no internal error for any of them, and still serves', async () => {
		expect(t.logs.filter((l) => l.includes('internal error'))).toEqual([]);
		expect((await t.api('GET', '/auth/me')).status).toBe(200);
	});
});
