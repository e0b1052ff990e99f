import type { AuditEntry } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { Request } from 'express';
import { auditActor, recordAudit, type AuditInput } from '../auth/audit';
import { principalOf } from '../auth/authorize';
import { clientAddress } from './rate-limit';

/**
 * Records a change made by the caller of `req`: who (their session or API key) and from where come
 * from the request, so a route names only what changed. Setup, sign-in and accepting an invitation,
 * where the actor is the account just made or found, call recordAudit themselves.
 */
export function auditRequest(store: Store, req: Request, entry: Omit<AuditInput, 'actor'>): Promise<AuditEntry> {
	return recordAudit(store, clientAddress(req), { ...entry, actor: auditActor(principalOf(req)) });
}
