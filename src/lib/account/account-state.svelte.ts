import { getContext, setContext } from 'svelte';
import type { Me, Role } from '@qflare/protocol';
import { pickOrg, roleIn, type OrgWithRole } from './access-view';

const CONTEXT = Symbol('qflare.account');
const REMEMBERED_ORG = 'qflare.org';

/** The signed-in user and the organisation the dashboard shows; shared by every /admin page. */
export class AccountState {
	me = $state<Me | null>(null);
	orgs = $state<OrgWithRole[]>([]);
	selectedOrgId = $state<string | null>(null);
	readonly selectedOrg = $derived(this.orgs.find((o) => o.id === this.selectedOrgId) ?? null);

	/** Takes a fresh organisation list and keeps the selection when it is still valid. */
	setOrgs(orgs: OrgWithRole[]): void {
		this.orgs = orgs;
		this.selectedOrgId = pickOrg(orgs, this.selectedOrgId ?? readRemembered());
		remember(this.selectedOrgId);
	}

	select(orgId: string): void {
		if (!this.orgs.some((o) => o.id === orgId)) return;
		this.selectedOrgId = orgId;
		remember(orgId);
	}

	roleIn(orgId: string | undefined): Role | null {
		return roleIn(this.orgs, orgId);
	}
}

// The choice survives reloads so a coordinator lands back in the organisation they were working in.
function readRemembered(): string | null {
	try {
		return localStorage.getItem(REMEMBERED_ORG);
	} catch {
		return null;
	}
}

function remember(orgId: string | null): void {
	try {
		if (orgId) localStorage.setItem(REMEMBERED_ORG, orgId);
	} catch {
		// Private mode or storage off: the choice lasts for this page only.
	}
}

export function provideAccount(): AccountState {
	return setContext(CONTEXT, new AccountState());
}

export function useAccount(): AccountState {
	const account = getContext<AccountState | undefined>(CONTEXT);
	if (!account) throw new Error('useAccount() outside /admin');
	return account;
}
