import type { EventRecord } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { EventDoc } from '../collections';
import type { Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

export type NewEvent = Pick<EventRecord, 'projectId' | 'type' | 'message'> & Partial<Pick<EventRecord, 'data' | 'at'>>;

export interface EventRepository {
	append(event: NewEvent): Promise<EventRecord>;
	/** Newest first; projectId null lists platform-wide events. */
	listRecent(projectId: string | null, options?: { limit?: number; type?: string }): Promise<EventRecord[]>;
}

function toEvent(doc: EventDoc): EventRecord {
	const { _id, seq: _seq, ...rest } = doc;
	return { ...rest, id: _id };
}

export function eventRepository(col: CollectionPort<EventDoc>, clock: Clock): EventRepository {
	// Microseconds since the epoch, bumped past the last value: strictly increasing within a
	// process even for many events in one millisecond, and still below 2^53.
	let lastSeq = 0;
	const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, clock().getTime() * 1000));

	return {
		async append(event) {
			const doc: EventDoc = {
				_id: randomUUID(),
				projectId: event.projectId,
				type: event.type,
				message: event.message,
				data: event.data ?? {},
				at: event.at ?? clock().toISOString(),
				seq: nextSeq()
			};
			await col.insertOne(doc);
			return toEvent(doc);
		},
		async listRecent(projectId, options = {}) {
			const filter: Filter<EventDoc> = options.type === undefined ? { projectId } : { projectId, type: options.type };
			const docs = await col.find(filter, { sort: { seq: -1 }, limit: options.limit ?? 50 });
			return docs.map(toEvent);
		}
	};
}
