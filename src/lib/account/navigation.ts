import { goto } from '$app/navigation';
import { api } from '../dashboard/rest-client';

/**
 * Sends a visitor without a valid session to the right door: /setup while no owner exists yet,
 * else /login, which comes back here afterwards.
 */
export async function toSignIn(): Promise<void> {
	let needed = false;
	try {
		needed = (await api.setupState()).needed;
	} catch {
		// Unknown: the login page explains any server problem itself.
	}
	if (needed) {
		await goto('/setup', { replaceState: true });
		return;
	}
	const here = `${location.pathname}${location.search}`;
	await goto(`/login?next=${encodeURIComponent(here)}`, { replaceState: true });
}
