import express, { type Request, type RequestHandler } from 'express';

/** Deeper JSON is no request anyone means; schemas and logs walk it recursively. */
export const MAX_JSON_DEPTH = 32;
/** Most API bodies are a project config or a small form. */
export const JSON_LIMIT = '64kb';
/** A predict body may carry images. */
export const PREDICT_JSON_LIMIT = '8mb';

function refusal(status: number, type: string, message: string): Error {
	return Object.assign(new Error(message), { status, type });
}

/**
 * Nesting depth of a JSON text, counted on its bytes outside strings. UTF-8 multi-byte sequences
 * never contain these ASCII bytes, so the count is exact without decoding.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
	let depth = 0;
	let inString = false;
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i];
		if (inString) {
			if (b === 0x5c) i++;
			else if (b === 0x22) inString = false;
		} else if (b === 0x22) inString = true;
		else if (b === 0x5b || b === 0x7b) {
			if (++depth > max) return true;
		} else if (b === 0x5d || b === 0x7d) depth--;
	}
	return false;
}

/** Body-parser calls this with the raw bytes before parsing; a throw refuses the request. */
function verify(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
	// The byte scan is only exact for UTF-8; JSON in other charsets is rare enough to refuse.
	if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') {
		throw refusal(415, 'charset.unsupported', 'JSON bodies must be UTF-8');
	}
	if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) {
		throw refusal(400, 'entity.too.deep', `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
	}
}

const small = express.json({ limit: JSON_LIMIT, verify });
const large = express.json({ limit: PREDICT_JSON_LIMIT, verify });

const isPredict = (req: Request) => req.method === 'POST' && /^\/projects\/[^/]+\/models\/[^/]+\/predict\/?$/.test(req.path);

/** JSON bodies with the limit of the route they are for. */
export const jsonBody: RequestHandler = (req, res, next) => (isPredict(req) ? large : small)(req, res, next);
