import { DASHBOARD_NAMESPACE, PARTICIPANT_NAMESPACE, type Project } from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedParticipant } from '../test-support/scripted-participant';
import { startTestServer, type TestServer } from '../test-support/test-server';

/**
 * Nesting far past anything a schema accepts, as JSON text: socket.io-client's encoder recurses and
 * overflows its own stack on such a value, so these packets are written to the engine directly.
 */
const DEEP_JSON = `${'['.repeat(20_000)}0${']'.repeat(20_000)}`;
let rawAckId = 10_000;

/**
 * Emits `event` with a payload given as JSON text, over the socket's engine, and returns the ack's
 * code, or 'disconnected' when the server closed the connection instead (Socket.IO's answer to a
 * packet it cannot decode).
 */
function rawCodeOf(socket: Socket, namespace: string, event: string, payloadJson: string): Promise<string> {
	const id = rawAckId++;
	const engine = socket.io.engine;
	const prefix = `43${namespace},${id}`;
	return new Promise((resolve) => {
		const timer = setTimeout(() => finish('no ack'), 5_000);
		const onMessage = (data: unknown) => {
			if (typeof data !== 'string' || !data.startsWith(prefix)) return;
			const [reply] = JSON.parse(data.slice(prefix.length)) as [{ ok: boolean; code?: string }];
			finish(reply.ok ? 'ok' : String(reply.code));
		};
		const onClose = () => finish('disconnected');
		function finish(code: string) {
			clearTimeout(timer);
			engine.off('message', onMessage);
			engine.off('close', onClose);
			resolve(code);
		}
		engine.on('message', onMessage);
		engine.on('close', onClose);
		engine.write(`42${namespace},${id}[${JSON.stringify(event)},${payloadJson}]`);
	});
}

/** Garbage for every event: wrong types, wrong shapes, absurd sizes, prototype keys, binary. */
const GARBAGE: Record<string, unknown> = {
	null: null,
	number: 42,
	string: 'hello',
	array: [1, 2, 3],
	'empty object': {},
	'2 MB string field': { projectId: 'x'.repeat(2_000_000) },
	'__proto__ key': JSON.parse('{"__proto__": {"ok": true}, "projectId": "p"}'),
	'binary buffer': new Uint8Array(64),
	'unicode junk': { projectId: '\u202e\ud800\u0000', publicKey: '\uffff', kind: 'node' }
};

/** The code of an ack, or 'no ack' when the server answered nothing within the timeout. */
async function codeOf(socket: Socket, event: string, payload: unknown): Promise<string> {
	try {
		const reply = (await socket.timeout(5_000).emitWithAck(event, payload)) as { ok: boolean; code?: string };
		return reply.ok ? 'ok' : String(reply.code);
	} catch {
		return 'no ack';
	}
}

describe('hostile socket payloads never crash the server or get an internal error', () => {
	let server: TestServer;
	let project: Project;
	let anonymous: Socket;
	let loggedIn: ScriptedParticipant;
	let dashboard: Socket;
	/** Event -> garbage case -> code, printed for the closing note. */
	const results: Record<string, Record<string, string>> = {};

	beforeAll(async () => {
		server = await startTestServer('hostile-sockets');
		project = await server.createProject({ name: 'fuzz', rounds: 1, minParticipants: 2 });
		const token = await server.joinToken(project.id);
		anonymous = io(`${server.url}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true });
		loggedIn = new ScriptedParticipant(server.url, { joinToken: token });
		await loggedIn.login(project.id);
		dashboard = io(`${server.url}${DASHBOARD_NAMESPACE}`, {
			transports: ['websocket'],
			reconnection: false,
			forceNew: true,
			extraHeaders: { authorization: `Bearer ${server.ownerKey}` }
		});
		await new Promise<void>((resolve, reject) => {
			dashboard.once('connect', () => resolve());
			dashboard.once('connect_error', reject);
		});
	});
	afterAll(async () => {
		console.log(`socket fuzz results (event -> case -> code):\n${JSON.stringify(results, null, 1)}`);
		anonymous?.close();
		loggedIn?.socket.close();
		dashboard?.close();
		await server?.close();
	});

	const freshAnonymous = () => io(`${server.url}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true });
	/** The logged-in device again, on a socket of its own. */
	async function freshParticipant(): Promise<ScriptedParticipant> {
		const p = new ScriptedParticipant(server.url, { keys: loggedIn.keys });
		await p.login(project.id);
		return p;
	}

	const participantEvents = [
		'auth:challenge',
		'auth:login',
		'auth:rotate-key',
		'device:status',
		'data:stats',
		'eval:report',
		'round:update',
		'secagg:keys',
		'secagg:shares',
		'secagg:reveal'
	];

	for (const event of participantEvents) {
		it(`participant ${event}: every garbage case is refused with a client error code, anonymous or logged in`, async () => {
			for (const [name, payload] of Object.entries(GARBAGE)) {
				for (const [who, socket] of [
					['anonymous', anonymous],
					['logged in', loggedIn.socket]
				] as const) {
					const code = await codeOf(socket, event, payload);
					(results[`${event} (${who})`] ??= {})[name] = code;
					// 'no ack' is allowed only when Socket.IO itself dropped the packet (the 2 MB case
					// stays under maxHttpBufferSize, so every case must get an answer).
					expect([code, name, who]).not.toContain('INTERNAL');
					expect(code, `${event} ${name} (${who})`).not.toBe('ok');
					expect(code, `${event} ${name} (${who})`).not.toBe('no ack');
				}
			}
			// On throwaway sockets: the server may answer by closing the connection.
			const fresh = await freshParticipant();
			for (const [who, socket] of [
				['anonymous', freshAnonymous()],
				['logged in', fresh.socket]
			] as const) {
				const code = await rawCodeOf(socket, PARTICIPANT_NAMESPACE, event, DEEP_JSON);
				(results[`${event} (${who})`] ??= {})['20 000-deep array'] = code;
				expect(['SCHEMA_INVALID', 'UNAUTHENTICATED', 'disconnected'], `${event} deep (${who})`).toContain(code);
				socket.close();
			}
		});
	}

	it('dashboard watch: every garbage case is refused with a client error code', async () => {
		for (const [name, payload] of Object.entries(GARBAGE)) {
			const code = await codeOf(dashboard, 'watch', payload);
			(results['dashboard watch'] ??= {})[name] = code;
			expect(['SCHEMA_INVALID', 'UNKNOWN_PROJECT'], `watch ${name}`).toContain(code);
		}
		const deep = await rawCodeOf(dashboard, DASHBOARD_NAMESPACE, 'watch', DEEP_JSON);
		results['dashboard watch']['20 000-deep array'] = deep;
		expect(['SCHEMA_INVALID', 'disconnected']).toContain(deep);
	});

	it('progress events (no ack) with garbage are dropped, and the server still answers afterwards', async () => {
		for (const payload of Object.values(GARBAGE)) loggedIn.socket.emit('round:progress', payload);
		const fresh = await freshParticipant();
		fresh.socket.io.engine.write(`42${PARTICIPANT_NAMESPACE},["round:progress",${DEEP_JSON}]`);
		const health = await fetch(`${server.url}/health`);
		expect(health.status).toBe(200);
		// A session that sent only schema-level garbage survived all of it.
		const survivor = await freshParticipant();
		expect(await codeOf(survivor.socket, 'device:status', { backend: 'cpu', backendReason: 'still here', samples: 10 })).toBe('ok');
		fresh.socket.close();
		survivor.socket.close();
		expect(server.logs.filter((l) => l.includes('internal error'))).toEqual([]);
	});
});
