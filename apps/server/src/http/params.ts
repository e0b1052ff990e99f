import { ErrorCode, ProtocolError } from '@qflare/protocol';
import type { Request } from 'express';

/** Ids are short URL-safe strings everywhere (uuids, hex, base64url); anything else is a malformed request. */
const ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** A path parameter checked for the shape of an id; 400 SCHEMA_INVALID otherwise. */
export function pathParam(req: Request, name: string): string {
	const value: unknown = req.params[name];
	if (typeof value !== 'string' || !ID.test(value)) {
		throw new ProtocolError(ErrorCode.SchemaInvalid, `path parameter ${name} is not a valid id`);
	}
	return value;
}

/** A single-valued query parameter, or undefined; repeated or nested parameters are malformed. */
export function queryParam(req: Request, name: string, maxLength = 256): string | undefined {
	const value: unknown = (req.query as Record<string, unknown>)[name];
	if (value === undefined) return undefined;
	if (typeof value !== 'string' || value.length > maxLength) {
		throw new ProtocolError(ErrorCode.SchemaInvalid, `query parameter ${name} must be one string of at most ${maxLength} characters`);
	}
	return value;
}
