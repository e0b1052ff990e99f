import { ErrorCode, LoginBody, PasswordChangeBody, ProtocolError, SetupBody, type SetupState } from '@qflare/protocol';
import express from 'express';
import { recordAudit } from '../auth/audit';
import { principalOf, requirePrincipal, requireSession } from '../auth/authorize';
import { hashPassword, verifyAgainstNothing, verifyPassword } from '../auth/passwords';
import type { ApiDeps } from './deps';
import { meOf } from './me';
import { clientAddress, consumeOrRefuse, limitKey, refuseIfLimited } from './rate-limit';
import { auditRequest } from './request-audit';
import { endSessionCookie, startSession } from './sessions';

/** One message for an unknown e-mail and a wrong password: the answer must not say which accounts exist. */
const BAD_LOGIN = 'wrong e-mail or password';

/** First-run setup, sign-in and sign-out, the caller's identity, password change. */
export function authRoutes({ store, rateLimits, setupLink, dashboard }: ApiDeps): express.Router {
	const router = express.Router();

	router.get('/auth/setup', async (_req, res) => {
		const state: SetupState = { needed: (await store.users.count()) === 0 };
		res.json(state);
	});

	router.post('/auth/setup', async (req, res) => {
		await consumeOrRefuse(rateLimits, 'setup', limitKey(req));
		const body = SetupBody.parse(req.body);
		if ((await store.users.count()) > 0) throw new ProtocolError(ErrorCode.Conflict, 'setup is done: the first owner exists');
		if (!setupLink.take(body.token)) throw new ProtocolError(ErrorCode.Unauthenticated, 'the setup token is wrong or was used');
		const user = await store.users.create({ email: body.email, name: body.name, passwordHash: await hashPassword(body.password) });
		const organisation = await store.organisations.create(body.organisation);
		await store.memberships.add({ organisationId: organisation.id, userId: user.id, role: 'owner' });
		// Projects made before accounts existed belong to the first organisation.
		const adopted = await store.projects.assignOrphans(organisation.id);
		const sessionId = await startSession(store, req, res, user.id);
		await recordAudit(store, clientAddress(req), {
			organisationId: organisation.id,
			actor: { type: 'user', id: user.id, label: user.email },
			action: 'user.setup',
			target: { type: 'user', id: user.id },
			details: { organisation: organisation.name, adoptedProjects: adopted }
		});
		res.status(201).json(await meOf(store, { user, via: 'session', sessionId, apiKey: null, roles: new Map([[organisation.id, 'owner']]) }));
	});

	router.post('/auth/login', async (req, res) => {
		await consumeOrRefuse(rateLimits, 'login', limitKey(req));
		const { email, password } = LoginBody.parse(req.body);
		await refuseIfLimited(rateLimits, 'loginFailure', email);
		const user = await store.users.getByEmail(email);
		const hash = user ? await store.users.passwordHash(user.id) : null;
		const ok = user && hash ? await verifyPassword(password, hash) : await verifyAgainstNothing(password);
		if (!ok || !user) {
			await rateLimits.consume('loginFailure', email);
			throw new ProtocolError(ErrorCode.Unauthenticated, BAD_LOGIN);
		}
		await rateLimits.reset('loginFailure', email);
		const sessionId = await startSession(store, req, res, user.id);
		const memberships = await store.memberships.listByUser(user.id);
		res.json(await meOf(store, { user, via: 'session', sessionId, apiKey: null, roles: new Map(memberships.map((m) => [m.organisationId, m.role])) }));
	});

	router.get('/auth/me', requirePrincipal, async (req, res) => {
		res.json(await meOf(store, principalOf(req)));
	});

	router.post('/auth/logout', requirePrincipal, async (req, res) => {
		const { sessionId } = principalOf(req);
		if (sessionId) {
			await store.sessions.delete(sessionId);
			dashboard.disconnectSession(sessionId);
		}
		endSessionCookie(req, res);
		res.json({ ok: true });
	});

	// Session only: a leaked API key must not be able to sign its owner out everywhere.
	router.post('/auth/logout-all', requireSession, async (req, res) => {
		const principal = principalOf(req);
		const ended = await store.sessions.deleteByUser(principal.user.id);
		dashboard.disconnectUser(principal.user.id);
		await auditRequest(store, req, {
			organisationId: null,
			action: 'sessions.revoked',
			target: { type: 'user', id: principal.user.id },
			details: { sessions: ended }
		});
		endSessionCookie(req, res);
		res.json({ ok: true, sessions: ended });
	});

	router.post('/auth/password', requireSession, async (req, res) => {
		const principal = principalOf(req);
		const body = PasswordChangeBody.parse(req.body);
		// A stolen session must not become a way to guess the password: failures count like sign-in failures.
		await refuseIfLimited(rateLimits, 'loginFailure', principal.user.email);
		const hash = await store.users.passwordHash(principal.user.id);
		if (!hash || !(await verifyPassword(body.currentPassword, hash))) {
			await rateLimits.consume('loginFailure', principal.user.email);
			throw new ProtocolError(ErrorCode.Forbidden, 'the current password is wrong');
		}
		await store.users.setPasswordHash(principal.user.id, await hashPassword(body.newPassword));
		// Whoever else holds a session of this account is signed out; this one goes on.
		const ended = await store.sessions.deleteByUser(principal.user.id, { except: principal.sessionId ?? undefined });
		dashboard.disconnectUser(principal.user.id, { exceptSession: principal.sessionId });
		await auditRequest(store, req, {
			organisationId: null,
			action: 'password.changed',
			target: { type: 'user', id: principal.user.id },
			details: { otherSessionsEnded: ended }
		});
		res.json({ ok: true });
	});

	return router;
}
