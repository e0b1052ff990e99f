import type { UpdateRecord } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../blobs';
import type { UpdateDoc } from '../collections';
import { IntegrityError } from '../errors';
import type { CollectionPort } from '../port';
import { sha256Hex } from '../weights';

export type NewUpdate = Omit<UpdateRecord, 'id'> & { id?: string };

/** What folding an accepted update again needs, beyond its record. */
export interface UpdatePayload {
	/** The encoded update exactly as received (its SHA-256 is the record's payloadSha256). */
	bytes: Uint8Array;
	/** Position in the round's fold order: a float sum depends on the order of its terms. */
	foldIndex: number;
	steps: number;
	valAccuracy: number | null;
}

export interface UpdateWithPayload {
	record: UpdateRecord;
	payload: UpdatePayload;
}

export interface UpdateRepository {
	/**
	 * Rejects with DuplicateKeyError when the device already has an update in that round. With a
	 * payload, the bytes are written to the blob store first and the record names them, so a
	 * record never points at a missing payload; once this resolves both are durable.
	 */
	insert(record: NewUpdate, payload?: UpdatePayload): Promise<UpdateRecord>;
	findByRoundAndDevice(roundId: string, deviceId: string): Promise<UpdateRecord | null>;
	/** Null when there is no such update or its payload is no longer kept; IntegrityError when the bytes fail their digest. */
	loadPayload(roundId: string, deviceId: string): Promise<UpdatePayload | null>;
	/** The round's updates whose payload is kept, in fold order; IntegrityError when a payload is missing or fails its digest. */
	listWithPayloads(roundId: string): Promise<UpdateWithPayload[]>;
	/** In arrival order. */
	listByRound(roundId: string): Promise<UpdateRecord[]>;
	countByRound(roundId: string): Promise<number>;
	/** Deletes the records and their payloads. */
	deleteByRound(roundId: string): Promise<number>;
	/** Deletes one device's record and payload in the round (an update that cannot be folded again). */
	deleteOne(roundId: string, deviceId: string): Promise<number>;
	/** Drops the round's payloads once it ended; the records stay. Returns how many were dropped. */
	deletePayloads(roundId: string): Promise<number>;
	/** Any earlier update of the project with the same payload digest (replay / copy detection). */
	findByPayloadHash(projectId: string, payloadSha256: string): Promise<UpdateRecord | null>;
}

function toUpdate(doc: UpdateDoc): UpdateRecord {
	const { _id, blob: _blob, foldIndex: _foldIndex, steps: _steps, valAccuracy: _valAccuracy, ...rest } = doc;
	return { ...rest, id: _id };
}

export function updateRepository(col: CollectionPort<UpdateDoc>, blobs: BlobStore): UpdateRepository {
	const out = (doc: UpdateDoc | null) => (doc ? toUpdate(doc) : null);

	async function payloadOf(doc: UpdateDoc): Promise<UpdatePayload | null> {
		if (!doc.blob) return null;
		const bytes = await blobs.get(doc.blob);
		if (!bytes) throw new IntegrityError(`payload of update ${doc._id} is missing (${doc.blob})`);
		if (sha256Hex(bytes) !== doc.payloadSha256) throw new IntegrityError(`payload of update ${doc._id} fails its sha256`);
		return { bytes, foldIndex: doc.foldIndex ?? 0, steps: doc.steps ?? 1, valAccuracy: doc.valAccuracy ?? null };
	}

	async function dropBlobs(docs: UpdateDoc[]): Promise<number> {
		let dropped = 0;
		for (const doc of docs) {
			if (!doc.blob) continue;
			await blobs.delete(doc.blob);
			dropped++;
		}
		return dropped;
	}

	return {
		async insert(record, payload) {
			const id = record.id ?? randomUUID();
			const update: UpdateRecord = { ...record, id };
			const { id: _id, ...fields } = update;
			if (!payload) {
				await col.insertOne({ ...fields, _id: id });
				return update;
			}
			// The blob name carries the record id, so a racing insert for the same device never overwrites the winner's payload.
			const blob = `updates/${id}.bin`;
			await blobs.put(blob, payload.bytes);
			try {
				await col.insertOne({ ...fields, _id: id, blob, foldIndex: payload.foldIndex, steps: payload.steps, valAccuracy: payload.valAccuracy });
			} catch (err) {
				await blobs.delete(blob);
				throw err;
			}
			return update;
		},
		async findByRoundAndDevice(roundId, deviceId) {
			return out(await col.findOne({ roundId, deviceId }));
		},
		async loadPayload(roundId, deviceId) {
			const doc = await col.findOne({ roundId, deviceId });
			return doc ? payloadOf(doc) : null;
		},
		async listWithPayloads(roundId) {
			const docs = (await col.find({ roundId }, { sort: { receivedAt: 1, _id: 1 } })).filter((d) => d.blob);
			// Stable: records of equal index (none, in practice) keep their arrival order.
			docs.sort((a, b) => (a.foldIndex ?? 0) - (b.foldIndex ?? 0));
			const list: UpdateWithPayload[] = [];
			for (const doc of docs) {
				const payload = await payloadOf(doc);
				if (payload) list.push({ record: toUpdate(doc), payload });
			}
			return list;
		},
		async listByRound(roundId) {
			const docs = await col.find({ roundId }, { sort: { receivedAt: 1, _id: 1 } });
			return docs.map(toUpdate);
		},
		countByRound(roundId) {
			return col.countDocuments({ roundId });
		},
		async deleteByRound(roundId) {
			await dropBlobs(await col.find({ roundId }));
			return col.deleteMany({ roundId });
		},
		async deleteOne(roundId, deviceId) {
			await dropBlobs(await col.find({ roundId, deviceId }));
			return col.deleteMany({ roundId, deviceId });
		},
		async deletePayloads(roundId) {
			const docs = await col.find({ roundId });
			// The records first: a crash in between leaves unreferenced files, never a record naming a deleted blob.
			if (docs.some((d) => d.blob)) await col.updateMany({ roundId }, { $set: { blob: null } });
			return dropBlobs(docs);
		},
		async findByPayloadHash(projectId, payloadSha256) {
			return out(await col.findOne({ projectId, payloadSha256 }));
		}
	};
}
