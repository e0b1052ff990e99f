import type { UpdateRecord } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { UpdateDoc } from '../collections';
import { fromStored, toStored } from '../docs';
import type { CollectionPort } from '../port';

export type NewUpdate = Omit<UpdateRecord, 'id'> & { id?: string };

export interface UpdateRepository {
	/** Rejects with DuplicateKeyError when the device already has an update in that round. */
	insert(record: NewUpdate): Promise<UpdateRecord>;
	findByRoundAndDevice(roundId: string, deviceId: string): Promise<UpdateRecord | null>;
	/** In arrival order. */
	listByRound(roundId: string): Promise<UpdateRecord[]>;
	countByRound(roundId: string): Promise<number>;
	deleteByRound(roundId: string): Promise<number>;
	/** Any earlier update of the project with the same payload digest (replay / copy detection). */
	findByPayloadHash(projectId: string, payloadSha256: string): Promise<UpdateRecord | null>;
}

export function updateRepository(col: CollectionPort<UpdateDoc>): UpdateRepository {
	const out = (doc: UpdateDoc | null) => (doc ? fromStored<UpdateRecord>(doc) : null);
	return {
		async insert(record) {
			const update: UpdateRecord = { ...record, id: record.id ?? randomUUID() };
			await col.insertOne(toStored(update));
			return update;
		},
		async findByRoundAndDevice(roundId, deviceId) {
			return out(await col.findOne({ roundId, deviceId }));
		},
		async listByRound(roundId) {
			const docs = await col.find({ roundId }, { sort: { receivedAt: 1, _id: 1 } });
			return docs.map((d) => fromStored<UpdateRecord>(d));
		},
		countByRound(roundId) {
			return col.countDocuments({ roundId });
		},
		deleteByRound(roundId) {
			return col.deleteMany({ roundId });
		},
		async findByPayloadHash(projectId, payloadSha256) {
			return out(await col.findOne({ projectId, payloadSha256 }));
		}
	};
}
