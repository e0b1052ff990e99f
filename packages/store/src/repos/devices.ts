import type { Device } from '@qflare/protocol';
import type { DeviceDoc } from '../collections';
import { definedOnly, type Clock } from '../docs';
import { DuplicateKeyError } from '../errors';
import type { CollectionPort, Filter } from '../port';

/** Identity fields are required; the rest default on first registration and are kept after. */
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
}

const key = (projectId: string, id: string) => `${projectId}:${id}`;

function toDevice(doc: DeviceDoc): Device {
	const { _id, deviceId, ...rest } = doc;
	return { ...rest, id: deviceId };
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
			const $set = definedOnly({ ...given, deviceId: id });
			const defaults: Omit<DeviceDoc, '_id' | 'deviceId' | 'projectId' | 'publicKey' | 'kind'> = {
				online: false,
				backend: null,
				backendReason: null,
				samples: 0,
				shardIndex: 0,
				userAgent: '',
				registeredAt: now,
				lastSeen: now
			};
			// MongoDB refuses a field in both $set and $setOnInsert, so defaults cover only what was not given.
			const $setOnInsert = Object.fromEntries(Object.entries(defaults).filter(([k]) => !(k in $set)));
			const run = () => col.findOneAndUpdate({ _id: key(device.projectId, id) }, { $set, $setOnInsert }, { upsert: true });
			// Two racing upserts can both miss and both insert; the loser's retry finds the winner's document.
			const doc = await run().catch((err: unknown) => {
				if (err instanceof DuplicateKeyError) return run();
				throw err;
			});
			if (!doc) throw new Error('device upsert returned no document');
			return toDevice(doc);
		},
		async update(projectId, id, patch) {
			const { registeredAt: _r, ...fields } = patch as DevicePatch & { registeredAt?: string };
			const $set = definedOnly(fields);
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
		}
	};
}
