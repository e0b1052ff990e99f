import { decodeShard, demoTask, type LabelledSet, type LoginReply } from '@qflare/protocol';
import { splitIndices, type PreparedSplit } from '@qflare/data-import';
import type { DataProvider, DeviceDataset, ShardCache } from './ports';

export function shardCacheKey(projectId: string, deviceId: string, shardIndex: number): string {
	return `${projectId}/${deviceId}/${shardIndex}`;
}

/**
 * Splits a demo shard into training rows and a fixed hold-out for federated evaluation, by the
 * rule imported data follows (splitIndices): the same seed holds out the same rows on every
 * reload. Both parts keep the shard's row order.
 */
export function splitShard(set: Pick<LabelledSet, 'count' | 'images' | 'labels'>, fraction: number, seed: number): {
	train: PreparedSplit;
	holdOut: PreparedSplit | null;
} {
	const { count } = set;
	const rowSize = count > 0 ? set.images.length / count : 0;
	const rows = splitIndices(count, { holdOutFraction: fraction, seed });
	if (rows.holdOut.length === 0) return { train: { count, inputs: set.images, targets: set.labels }, holdOut: null };
	const take = (indices: Uint32Array): PreparedSplit => {
		const inputs = new Uint8Array(indices.length * rowSize);
		const targets = new Uint8Array(indices.length);
		indices.forEach((row, r) => {
			inputs.set(set.images.subarray(row * rowSize, (row + 1) * rowSize), r * rowSize);
			targets[r] = set.labels[row];
		});
		return { count: indices.length, inputs, targets };
	};
	return { train: take(rows.train), holdOut: take(rows.holdOut) };
}

/**
 * Demo data: the device's shard of the server's data set, downloaded once and kept in the
 * ShardCache, with `holdOutFraction` of it held out (by the project seed) for federated evaluation.
 */
export class DemoDataProvider implements DataProvider {
	constructor(
		private readonly shards: ShardCache,
		private readonly fetchShard: (path: string) => Promise<Uint8Array>
	) {}

	async load(login: LoginReply, note: (message: string) => void): Promise<DeviceDataset> {
		const { project } = login;
		if (project.dataset !== 'mnist' && project.dataset !== 'fashion-mnist') {
			throw new Error(`unknown demo data set "${project.dataset}"`);
		}
		if (!login.shardPath) throw new Error('the server sent no demo shard for this device');
		const key = shardCacheKey(project.id, login.deviceId, login.shardIndex);
		let bytes = await this.shards.get(key);
		let origin: string;
		if (!bytes) {
			note(`downloading data shard ${login.shardIndex}`);
			bytes = await this.fetchShard(login.shardPath);
			await this.shards.put(key, bytes);
			origin = `data shard ${login.shardIndex} downloaded`;
		} else {
			origin = `data shard ${login.shardIndex} loaded from local storage`;
		}
		const set = decodeShard(bytes);
		const { train, holdOut } = splitShard(set, project.holdOutFraction, project.seed);
		return { task: demoTask(project.dataset), train, holdOut, stats: null, origin };
	}
}
