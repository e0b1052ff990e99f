import { splitIndices } from '@qflare/data-import';
import { deviceShard, parsePartitionSpec } from '@qflare/datasets';
import { labelHistogram } from '@qflare/fl';
import { encodeShard, type Project } from '@qflare/protocol';

export interface EncodedShard {
	bytes: Uint8Array;
	/**
	 * Label counts of the shard's training rows: the device holds out the project's share of the
	 * shard by the project's seed (splitIndices, as it does for imported data) and reports the rest
	 * as its samples, so the dashboard shows the same rows in both.
	 */
	labelHistogram: number[];
}

/** Encoded demo shards, built once per (dataset, partition, index) and kept; a shard is at most a few MB. */
export class ShardService {
	readonly #cache = new Map<string, Promise<EncodedShard>>();

	shard(project: Project, shardIndex: number): Promise<EncodedShard> {
		const key = `${project.dataset}/${project.partition}/${project.shardCount}/${project.seed}/${project.holdOutFraction}/${shardIndex}`;
		let pending = this.#cache.get(key);
		if (!pending) {
			pending = deviceShard(project.dataset, {
				partition: parsePartitionSpec(project.partition),
				shardCount: project.shardCount,
				shardIndex,
				seed: project.seed
			}).then((set) => ({
				bytes: encodeShard(set),
				labelHistogram: labelHistogram(set.labels, splitIndices(set.count, { holdOutFraction: project.holdOutFraction, seed: project.seed }).train, set.numClasses)
			}));
			pending.catch(() => this.#cache.delete(key));
			this.#cache.set(key, pending);
		}
		return pending;
	}
}
