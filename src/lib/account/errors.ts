import { ApiError } from '../dashboard/rest-client';
import { waitText } from './access-view';

/** What a form shows for a failed call: the server's message, and the wait when rate limited. */
export function errorText(error: unknown): string {
	if (error instanceof ApiError) {
		if (error.status === 429) return `Too many attempts. Try again in ${waitText(error.retryAfterSec)}.`;
		return error.message;
	}
	return error instanceof Error ? error.message : String(error);
}

/** True when the session is missing or over: the page should send the user to sign in. */
export function isUnauthenticated(error: unknown): boolean {
	return error instanceof ApiError && error.status === 401;
}
