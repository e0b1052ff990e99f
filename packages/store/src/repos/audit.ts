import type { AuditEntry } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { AuditDoc } from '../collections';
import type { Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at?: string };

/** Append-only by construction: there is no method that changes or removes an entry. */
export interface AuditRepository {
	append(entry: NewAuditEntry): Promise<AuditEntry>;
	/** Newest first (default limit 100); organisationId null lists entries outside any organisation. */
	list(organisationId: string | null, options?: { limit?: number; action?: string }): Promise<AuditEntry[]>;
}

function toEntry(doc: AuditDoc): AuditEntry {
	const { _id, seq: _seq, details, ...rest } = doc;
	// fromEntries defines own properties, so even a detail named "__proto__" round-trips.
	return { ...rest, id: _id, details: Object.fromEntries(details.map(({ name, value }) => [name, value])) };
}

export function auditRepository(col: CollectionPort<AuditDoc>, clock: Clock): AuditRepository {
	// As in events: microseconds since the epoch, bumped past the last value, so entries
	// written in one millisecond still list in the order they were appended.
	let lastSeq = 0;
	const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, clock().getTime() * 1000));

	const repository: AuditRepository = {
		async append(entry) {
			const doc: AuditDoc = {
				_id: randomUUID(),
				at: entry.at ?? clock().toISOString(),
				organisationId: entry.organisationId,
				actor: { type: entry.actor.type, id: entry.actor.id, label: entry.actor.label },
				action: entry.action,
				target: { type: entry.target.type, id: entry.target.id },
				address: entry.address,
				details: Object.entries(entry.details).map(([name, value]) => ({ name, value })),
				seq: nextSeq()
			};
			await col.insertOne(doc);
			return toEntry(doc);
		},
		async list(organisationId, options = {}) {
			const filter: Filter<AuditDoc> = options.action === undefined ? { organisationId } : { organisationId, action: options.action };
			return (await col.find(filter, { sort: { seq: -1 }, limit: options.limit ?? 100 })).map(toEntry);
		}
	};
	// Frozen so no caller can graft an update or delete onto the shared object.
	return Object.freeze(repository);
}
