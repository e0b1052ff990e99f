import type { Device } from '@qflare/protocol';
import type { DeviceDoc } from '../collections';
import { fromStoredFeatureStats, toStoredFeatureStats } from '../column-records';
import { definedOnly, type Clock } from '../docs';
import { DuplicateKeyError } from '../errors';
import type { CollectionPort, Filter } from '../port';

/** Identity fields are required; the rest default on first registration; given fields overwrite later. */
export type DeviceUpsert = Pick<Device, 'id' | 'projectId' | 'publicKey' | 'kind'> &
	Partial<Omit<Device, 'id' | 'projectId' | 'publicKey' | 'kind'>>;

export type DevicePatch = Partial<Omit<Device, 'id' | 'projectId' | 'registeredAt'>>;

export interface DeviceRepository {
	/** Inserts or updates the device (projectId, id); `registeredAt` is set once. */
	upsert(device: DeviceUpsert): Promise<Device>;
	get(projectId: string, id: string): Promise<Device | null>;
	update(projectId: string, id: string, patch: DevicePatch): Promise<Device | null>;
	/** Also stamps lastSeen. */
	setOnline(projectId: string, id: string, online: boolean): Promise<Device | null>;
	/** Oldest registration first. */
	listByProject(projectId: string, options?: { online?: boolean }): Promise<Device[]>;
	countByProject(projectId: string, options?: { online?: boolean }): Promise<number>;
	/** At start-up no socket is connected yet, so nobody is online; returns how many changed. */
	markAllOffline(projectId?: string): Promise<number>;
	/** Stores the sha256 of the device's current shard access token (replacing the last one). */
	setAccessTokenHash(projectId: string, id: string, hash: string): Promise<void>;
	/** Null when the device is unknown or has no token yet; the only way the hash leaves the store. */
	accessTokenHash(projectId: string, id: string): Promise<string | null>;
}

const key = (projectId: string, id: string) => `${projectId}:${id}`;

/**
 * Devices registered before local data existed have neither statistics nor evaluations;
 * those registered before access control have their key from registration, no revocation
 * and no join token.
 */
function toDevice(doc: DeviceDoc): Device {
	const { _id, deviceId, featureStats, lastEvaluation, keyCreatedAt, revokedAt, joinTokenId, accessTokenHash: _hash, ...rest } = doc;
	return {
		...rest,
		id: deviceId,
		featureStats: fromStoredFeatureStats(featureStats),
		lastEvaluation: lastEvaluation ?? null,
		keyCreatedAt: keyCreatedAt ?? rest.registeredAt,
		revokedAt: revokedAt ?? null,
		joinTokenId: joinTokenId ?? null
	};
}

/** The patch as stored: feature statistics become named entries (see column-records). */
function toDocFields(fields: Partial<Omit<Device, 'id'>>): Partial<Omit<DeviceDoc, '_id' | 'deviceId'>> {
	const { featureStats, ...rest } = definedOnly(fields);
	return featureStats === undefined ? rest : { ...rest, featureStats: toStoredFeatureStats(featureStats) };
}

export function deviceRepository(col: CollectionPort<DeviceDoc>, clock: Clock): DeviceRepository {
	const out = (doc: DeviceDoc | null) => (doc ? toDevice(doc) : null);
	const listFilter = (projectId: string, online?: boolean): Filter<DeviceDoc> =>
		online === undefined ? { projectId } : { projectId, online };

	const get = async (projectId: string, id: string) => out(await col.findOne({ _id: key(projectId, id) }));

	return {
		get,
		async upsert(device) {
			const now = clock().toISOString();
			const { id, ...given } = device;
			const fresh: DeviceDoc = {
				online: false,
				backend: null,
				backendReason: null,
				samples: 0,
				shardIndex: 0,
				labelHistogram: null,
				featureStats: null,
				lastEvaluation: null,
				trust: { accepted: 0, rejected: 0, meanDistance: 0, score: 0.5 },
				userAgent: '',
				registeredAt: now,
				lastSeen: now,
				keyCreatedAt: device.registeredAt ?? now,
				revokedAt: null,
				joinTokenId: null,
				accessTokenHash: null,
				...toDocFields(given),
				projectId: device.projectId,
				publicKey: device.publicKey,
				kind: device.kind,
				_id: key(device.projectId, id),
				deviceId: id
			};
			// Insert first, update on a clash, rather than one upsert with $setOnInsert: an
			// insert is atomic on every backend, and FerretDB drops null and [] values from
			// $setOnInsert. The (projectId, deviceId) key decides which path runs.
			try {
				await col.insertOne(fresh);
				return toDevice(fresh);
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
			}
			const { registeredAt: _keep, ...changes } = toDocFields(given);
			const doc = await col.findOneAndUpdate({ _id: fresh._id }, { $set: changes });
			if (!doc) throw new Error(`device ${device.projectId}:${id} vanished during upsert`);
			return toDevice(doc);
		},
		async update(projectId, id, patch) {
			const { registeredAt: _r, ...fields } = patch as DevicePatch & { registeredAt?: string };
			const $set = toDocFields(fields);
			if (Object.keys($set).length === 0) return get(projectId, id);
			return out(await col.findOneAndUpdate({ _id: key(projectId, id) }, { $set }));
		},
		async setOnline(projectId, id, online) {
			return out(await col.findOneAndUpdate({ _id: key(projectId, id) }, { $set: { online, lastSeen: clock().toISOString() } }));
		},
		async listByProject(projectId, options = {}) {
			const docs = await col.find(listFilter(projectId, options.online), { sort: { registeredAt: 1, deviceId: 1 } });
			return docs.map(toDevice);
		},
		countByProject(projectId, options = {}) {
			return col.countDocuments(listFilter(projectId, options.online));
		},
		async markAllOffline(projectId) {
			const filter: Filter<DeviceDoc> = projectId === undefined ? { online: true } : { projectId, online: true };
			return (await col.updateMany(filter, { $set: { online: false } })).matchedCount;
		},
		async setAccessTokenHash(projectId, id, hash) {
			await col.updateOne({ _id: key(projectId, id) }, { $set: { accessTokenHash: hash } });
		},
		async accessTokenHash(projectId, id) {
			return (await col.findOne({ _id: key(projectId, id) }))?.accessTokenHash ?? null;
		}
	};
}
