import { can, ErrorCode, ProtocolError, type Project, type Right, type Role } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { pathParam } from '../http/params';
import type { Authenticator, Principal } from './principal';
import { roleIn } from './principal';

/** What the middlewares below found out about a request, for the handler after them. */
interface RequestAuth {
	principal: Principal | null;
	organisation?: { id: string; role: Role };
	project?: Project;
}

const auth = new WeakMap<Request, RequestAuth>();

const unauthenticated = () => new ProtocolError(ErrorCode.Unauthenticated, 'sign in or send an API key (Authorization: Bearer qfk_...)');

/** Resolves the caller once per request; routes decide whether they need one. */
export function authenticate(authenticator: Authenticator): RequestHandler {
	return async (req: Request, _res: Response, next: NextFunction) => {
		auth.set(req, { principal: await authenticator.fromHeaders(req.headers) });
		next();
	};
}

export function optionalPrincipal(req: Request): Principal | null {
	return auth.get(req)?.principal ?? null;
}

/** The caller; throws 401 when there is none (for handlers behind requirePrincipal it always exists). */
export function principalOf(req: Request): Principal {
	const principal = optionalPrincipal(req);
	if (!principal) throw unauthenticated();
	return principal;
}

/** The organisation and role that requireOrgRight checked. */
export function organisationOf(req: Request): { id: string; role: Role } {
	const organisation = auth.get(req)?.organisation;
	if (!organisation) throw new Error('organisationOf used on a route without requireOrgRight');
	return organisation;
}

/** The project that requireProjectRight loaded, with the caller's role in its organisation. */
export function projectOf(req: Request): { project: Project; role: Role } {
	const entry = auth.get(req);
	if (!entry?.project || !entry.organisation) throw new Error('projectOf used on a route without requireProjectRight');
	return { project: entry.project, role: entry.organisation.role };
}

export const requirePrincipal: RequestHandler = (req, _res, next) => {
	principalOf(req);
	next();
};

/** Account actions (keys, password, new organisations, joining) need a person signed in, not an API key. */
export const requireSession: RequestHandler = (req, _res, next) => {
	if (principalOf(req).via !== 'session') throw new ProtocolError(ErrorCode.Forbidden, 'this needs a signed-in session; API keys cannot do it');
	next();
};

function checkRight(role: Role, right: Right): void {
	if (!can(role, right)) throw new ProtocolError(ErrorCode.Forbidden, `your role (${role}) does not allow ${right}`);
}

/** `:org` must be one of the caller's organisations (else 404, never saying whether it exists) with `right`. */
export function requireOrgRight(right: Right): RequestHandler {
	return (req, _res, next) => {
		const principal = principalOf(req);
		const organisationId = pathParam(req, 'org');
		const role = roleIn(principal, organisationId);
		if (!role) throw new ProtocolError(ErrorCode.NotFound, `no organisation ${organisationId}`);
		checkRight(role, right);
		auth.set(req, { principal, organisation: { id: organisationId, role } });
		next();
	};
}

/** Loads `:id`; a project outside the caller's organisations is 404 UNKNOWN_PROJECT, a too small role 403. */
export function requireProjectRight(store: Store, right: Right): RequestHandler {
	return async (req: Request, _res: Response, next: NextFunction) => {
		const principal = principalOf(req);
		const projectId = pathParam(req, 'id');
		const project = await store.projects.get(projectId);
		const role = project ? roleIn(principal, project.organisationId) : null;
		if (!project || !role) throw new ProtocolError(ErrorCode.UnknownProject, `no project ${projectId}`);
		checkRight(role, right);
		auth.set(req, { principal, organisation: { id: project.organisationId, role }, project });
		next();
	};
}
