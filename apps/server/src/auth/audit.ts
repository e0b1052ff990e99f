import type { AuditActor, AuditEntry } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { Principal } from './principal';

/** A key's actions are the key's (its id), labelled with its owner's e-mail for people reading the log. */
export function auditActor(principal: Principal): AuditActor {
	return principal.apiKey
		? { type: 'apiKey', id: principal.apiKey.id, label: `${principal.user.email} (key ${principal.apiKey.prefix})` }
		: { type: 'user', id: principal.user.id, label: principal.user.email };
}

export interface AuditInput {
	organisationId: string | null;
	actor: AuditActor;
	action: string;
	target: { type: string; id: string };
	details?: AuditEntry['details'];
}

/** Appends one entry; `address` is the client address the server saw (req.ip). */
export function recordAudit(store: Store, address: string | undefined, entry: AuditInput): Promise<AuditEntry> {
	return store.audit.append({ ...entry, details: entry.details ?? {}, address: address ?? '' });
}
