import type { FederatedEvaluation, MembershipAudit, ModelRecord } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../blobs';
import type { ModelDoc } from '../collections';
import { definedOnly, type Clock } from '../docs';
import { DuplicateKeyError, IntegrityError } from '../errors';
import type { CollectionPort } from '../port';
import { bytesToWeights, sha256Hex, weightsToBytes } from '../weights';

export type NewModel = Pick<ModelRecord, 'projectId' | 'version' | 'roundNumber'> &
	Partial<Pick<ModelRecord, 'id' | 'testAccuracy' | 'testLoss' | 'createdAt'>>;

export interface ModelRepository {
	/**
	 * Stores the weights, then the metadata (parameterCount and sha256 are computed here), so
	 * a record never points at missing weights. DuplicateKeyError when the version exists.
	 */
	/**
	 * `serverState` is opaque bytes the aggregator needs to produce the next version (server
	 * optimiser moments); it is kept beside the weights and never served.
	 */
	saveModel(meta: NewModel, weights: Float32Array, serverState?: Uint8Array): Promise<ModelRecord>;
	/** Null when the version or its server state does not exist. */
	loadServerState(projectId: string, version: number): Promise<Uint8Array | null>;
	/** Null when there is no such version; IntegrityError when the bytes fail their digest. */
	loadWeights(projectId: string, version: number): Promise<Float32Array | null>;
	get(projectId: string, version: number): Promise<ModelRecord | null>;
	latest(projectId: string): Promise<ModelRecord | null>;
	/** By version, ascending. */
	list(projectId: string): Promise<ModelRecord[]>;
	/** Test metrics often arrive after the commit. */
	setMetrics(projectId: string, version: number, metrics: Pick<ModelRecord, 'testAccuracy' | 'testLoss'>): Promise<ModelRecord | null>;
	/** Replaces the version's federated evaluation (re-merged as reports arrive); null when there is no such version. */
	setFederatedEvaluation(projectId: string, version: number, evaluation: FederatedEvaluation | null): Promise<ModelRecord | null>;
	/** Replaces the version's membership-inference audit; null when there is no such version. */
	setMembershipAudit(projectId: string, version: number, audit: MembershipAudit | null): Promise<ModelRecord | null>;
}

/** Models committed before federated evaluation (or the membership audit) existed have none. */
function toModel(doc: ModelDoc): ModelRecord {
	const { _id, blob: _blob, stateBlob: _stateBlob, federatedEvaluation, membershipAudit, ...rest } = doc;
	return { ...rest, id: _id, federatedEvaluation: federatedEvaluation ?? null, membershipAudit: membershipAudit ?? null };
}

export function modelRepository(col: CollectionPort<ModelDoc>, blobs: BlobStore, clock: Clock): ModelRepository {
	const out = (doc: ModelDoc | null) => (doc ? toModel(doc) : null);
	return {
		async saveModel(meta, weights, serverState) {
			if (await col.findOne({ projectId: meta.projectId, version: meta.version })) {
				throw new DuplicateKeyError(col.name, `model ${meta.projectId} v${meta.version} exists`);
			}
			const id = meta.id ?? randomUUID();
			const bytes = weightsToBytes(weights);
			// The blob name carries the record id, so a racing save of the same version never overwrites the winner's weights.
			const blob = `models/${id}.f32`;
			const doc: ModelDoc = {
				_id: id,
				projectId: meta.projectId,
				version: meta.version,
				roundNumber: meta.roundNumber,
				parameterCount: weights.length,
				sha256: sha256Hex(bytes),
				testAccuracy: meta.testAccuracy ?? null,
				testLoss: meta.testLoss ?? null,
				federatedEvaluation: null,
				membershipAudit: null,
				createdAt: meta.createdAt ?? clock().toISOString(),
				blob,
				...(serverState ? { stateBlob: `models/${id}.state` } : {})
			};
			await blobs.put(blob, bytes);
			if (serverState && doc.stateBlob) await blobs.put(doc.stateBlob, serverState);
			try {
				await col.insertOne(doc);
			} catch (err) {
				await blobs.delete(blob);
				if (doc.stateBlob) await blobs.delete(doc.stateBlob);
				throw err;
			}
			return toModel(doc);
		},
		async loadServerState(projectId, version) {
			const doc = await col.findOne({ projectId, version });
			return doc?.stateBlob ? blobs.get(doc.stateBlob) : null;
		},
		async loadWeights(projectId, version) {
			const doc = await col.findOne({ projectId, version });
			if (!doc) return null;
			const bytes = await blobs.get(doc.blob);
			if (!bytes) throw new IntegrityError(`weights of model ${projectId} v${version} are missing (${doc.blob})`);
			if (sha256Hex(bytes) !== doc.sha256) throw new IntegrityError(`weights of model ${projectId} v${version} fail their sha256`);
			return bytesToWeights(bytes);
		},
		async get(projectId, version) {
			return out(await col.findOne({ projectId, version }));
		},
		async latest(projectId) {
			const [doc] = await col.find({ projectId }, { sort: { version: -1 }, limit: 1 });
			return out(doc ?? null);
		},
		async list(projectId) {
			return (await col.find({ projectId }, { sort: { version: 1 } })).map(toModel);
		},
		async setMetrics(projectId, version, metrics) {
			return out(await col.findOneAndUpdate({ projectId, version }, { $set: definedOnly(metrics) }));
		},
		async setFederatedEvaluation(projectId, version, evaluation) {
			return out(await col.findOneAndUpdate({ projectId, version }, { $set: { federatedEvaluation: evaluation } }));
		},
		async setMembershipAudit(projectId, version, audit) {
			return out(await col.findOneAndUpdate({ projectId, version }, { $set: { membershipAudit: audit } }));
		}
	};
}
