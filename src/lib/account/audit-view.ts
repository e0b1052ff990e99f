import type { AuditEntry } from '@qflare/protocol';

/** An audit entry's details as one readable line: "role=admin, email=a@b.c". */
export function auditDetails(details: AuditEntry['details']): string {
	return Object.entries(details)
		.map(([k, v]) => `${k}=${v === null ? '–' : String(v)}`)
		.join(', ');
}
