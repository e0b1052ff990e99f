import type { Organisation } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { OrganisationDoc } from '../collections';
import { fromStored, type Clock } from '../docs';
import type { CollectionPort } from '../port';

export interface OrganisationRepository {
	create(name: string): Promise<Organisation>;
	get(id: string): Promise<Organisation | null>;
	/** By name, then id; unknown ids are skipped. */
	list(ids: readonly string[]): Promise<Organisation[]>;
}

export function organisationRepository(col: CollectionPort<OrganisationDoc>, clock: Clock): OrganisationRepository {
	const out = (doc: OrganisationDoc | null) => (doc ? fromStored<Organisation>(doc) : null);
	return {
		async create(name) {
			const doc: OrganisationDoc = { _id: randomUUID(), name, createdAt: clock().toISOString() };
			await col.insertOne(doc);
			return fromStored<Organisation>(doc);
		},
		async get(id) {
			return out(await col.findOne({ _id: id }));
		},
		async list(ids) {
			if (ids.length === 0) return [];
			return (await col.find({ _id: { $in: ids } }, { sort: { name: 1, _id: 1 } })).map((d) => fromStored<Organisation>(d));
		}
	};
}
