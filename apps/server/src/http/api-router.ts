import type { ServerInfo } from '@qflare/protocol';
import express from 'express';
import { authenticate, requirePrincipal } from '../auth/authorize';
import { apiKeyRoutes } from './api-key-routes';
import { authRoutes } from './auth-routes';
import type { ApiDeps } from './deps';
import { apiErrorHandler, notFound } from './errors';
import { invitationRoutes } from './invitation-routes';
import { joinRoutes } from './join-routes';
import { jsonBody } from './json-body';
import { modelRoutes } from './model-routes';
import { openApiDocument } from './openapi';
import { orgInvitationRoutes } from './org-invitation-routes';
import { orgRoutes } from './org-routes';
import { originCheck } from './origin-check';
import { projectRoutes } from './project-routes';
import { apiContentSecurityPolicy } from './security-headers';
import { shardRoutes } from './shard-routes';

export type { ApiDeps, DeviceRevocation } from './deps';

/** The routers of each area, in the order they are tried; every route they define is in openapi.ts. */
export function areaRouters(deps: ApiDeps): express.Router[] {
	const general = express.Router();
	general.get('/openapi.json', (_req, res) => {
		res.json(openApiDocument);
	});
	general.get('/server-info', requirePrincipal, (_req, res) => {
		const info: ServerInfo = { publicOrigins: deps.publicOrigins, store: deps.store.backend };
		res.json(info);
	});
	return [
		general,
		authRoutes(deps),
		invitationRoutes(deps),
		orgRoutes(deps),
		orgInvitationRoutes(deps),
		apiKeyRoutes(deps),
		projectRoutes(deps),
		modelRoutes(deps),
		joinRoutes(deps),
		shardRoutes(deps)
	];
}

/**
 * REST API under /api/v1. The caller is resolved first (cookie or API key), cross-site writes are
 * refused, then bodies are parsed with their limits; each route checks what its caller may do.
 */
export function apiRouter(deps: ApiDeps): express.Router {
	const router = express.Router();
	router.use(apiContentSecurityPolicy);
	router.use(authenticate(deps.authenticator));
	router.use(originCheck(deps.publicOrigins));
	router.use(jsonBody);
	for (const area of areaRouters(deps)) router.use(area);
	router.use(notFound);
	router.use(apiErrorHandler(deps.log));
	return router;
}
