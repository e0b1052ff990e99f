import type { Store } from '@qflare/store';
import type { Request, Response } from 'express';
import { clearedSessionCookie, SESSION_MAX_AGE_SEC, sessionCookie } from '../auth/session-cookie';
import { newBareToken } from '../auth/tokens';
import { clientAddress } from './rate-limit';

/** Starts a session for `userId` and sets its cookie; only the token's hash is stored. */
export async function startSession(store: Store, req: Request, res: Response, userId: string): Promise<string> {
	const { token, tokenHash } = newBareToken();
	const expiresAt = new Date(Date.now() + SESSION_MAX_AGE_SEC * 1000).toISOString();
	const userAgent = (req.headers['user-agent'] ?? '').slice(0, 200);
	const session = await store.sessions.create({ userId, tokenHash, expiresAt, address: clientAddress(req), userAgent });
	res.append('Set-Cookie', sessionCookie(token, req.secure));
	return session.id;
}

export function endSessionCookie(req: Request, res: Response): void {
	res.append('Set-Cookie', clearedSessionCookie(req.secure));
}
