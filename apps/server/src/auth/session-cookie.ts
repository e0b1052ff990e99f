import type { IncomingHttpHeaders } from 'node:http';
import { SESSION_COOKIE } from '@qflare/protocol';
import { parseCookie, stringifySetCookie } from 'cookie';
import { isBareToken } from './tokens';

/** A session lasts 7 days from sign-in; signing in again starts a new one. */
export const SESSION_MAX_AGE_SEC = 7 * 24 * 60 * 60;

/** The session token from a Cookie header, or null when absent or not shaped like one. */
export function sessionTokenFrom(headers: IncomingHttpHeaders): string | null {
	const header = headers.cookie;
	if (typeof header !== 'string' || header.length === 0) return null;
	const token = parseCookie(header)[SESSION_COOKIE];
	return token !== undefined && isBareToken(token) ? token : null;
}

/**
 * Set-Cookie for a new session: httpOnly so page scripts never see it, SameSite=Lax so other sites'
 * forms do not carry it, Secure when the request came over https (a LAN http server would otherwise
 * never get the cookie back).
 */
export function sessionCookie(token: string, secure: boolean): string {
	return stringifySetCookie({ name: SESSION_COOKIE, value: token, httpOnly: true, sameSite: 'lax', path: '/', secure, maxAge: SESSION_MAX_AGE_SEC });
}

/** Set-Cookie that makes the browser drop the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
	return stringifySetCookie({ name: SESSION_COOKIE, value: '', httpOnly: true, sameSite: 'lax', path: '/', secure, maxAge: 0, expires: new Date(0) });
}
