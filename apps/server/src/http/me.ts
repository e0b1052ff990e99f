import type { Me } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { Principal } from '../auth/principal';

/** The caller and its organisations; an API key sees only its own organisation, at the key's role. */
export async function meOf(store: Store, principal: Principal): Promise<Me> {
	const organisations = await store.organisations.list([...principal.roles.keys()]);
	return {
		user: principal.user,
		via: principal.via,
		organisations: organisations.flatMap((o) => {
			const role = principal.roles.get(o.id);
			return role ? [{ ...o, role }] : [];
		})
	};
}
