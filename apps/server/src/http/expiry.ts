export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * When a credential made now stops working, from a request's "expires in N hours/days": an ISO
 * time, or null for never when the request gave no count (API keys, join links).
 */
export function expiresAfter(count: number, unitMs: number): string;
export function expiresAfter(count: number | null, unitMs: number): string | null;
export function expiresAfter(count: number | null, unitMs: number): string | null {
	return count === null ? null : new Date(Date.now() + count * unitMs).toISOString();
}
