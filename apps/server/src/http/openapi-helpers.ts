import type { Right } from '@qflare/protocol';

/**
 * Who may call an operation: 'public' (anyone), 'joinToken' (Bearer qjt_ of the project),
 * 'deviceAccess' (the shard access token of a logged-in device), 'signedIn' (any session or API key),
 * 'session' (a signed-in person, not an API key), or a right from RIGHTS checked in the organisation
 * of the path's org or project.
 */
export type Access = 'public' | 'joinToken' | 'deviceAccess' | 'signedIn' | 'session' | Right;

export const error = { $ref: '#/components/schemas/Error' };
export const json = (schema: object) => ({ content: { 'application/json': { schema } } });
export const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
export const pathId = (name: string, description?: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, ...(description ? { description } : {}) });
export const body = (name: string) => ({ requestBody: json({ $ref: `#/components/schemas/${name}` }) });

const denials = {
	'400': ok('malformed input', error),
	'401': ok('no or invalid credentials (UNAUTHENTICATED)', error),
	'403': ok('role or key scope too small (FORBIDDEN)', error),
	'404': ok('not found, or in an organisation the caller is not in', error)
};

/** One operation with its access rule and the failures every authorised route can answer. */
export function op(access: Access, summary: string, rest: { parameters?: object[]; requestBody?: object; responses?: Record<string, object>; sessionOnly?: boolean } = {}) {
	const { responses = {}, sessionOnly, ...more } = rest;
	return {
		summary,
		'x-qflare-access': access,
		...(sessionOnly ? { 'x-qflare-session-only': true } : {}),
		...more,
		responses: { '200': ok('done'), ...(access === 'public' ? { '400': denials['400'] } : denials), ...responses }
	};
}
