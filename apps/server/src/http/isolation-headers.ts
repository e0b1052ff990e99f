import type { RequestHandler } from 'express';

/**
 * Cross-origin isolation for every response, worker chunks and .wasm included: adapter-node
 * serves /_app/immutable/* itself without SvelteKit hooks, so the headers are set here, before it.
 */
export const isolationHeaders: RequestHandler = (_req, res, next) => {
	res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
	res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
	res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
	next();
};
