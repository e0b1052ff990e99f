import { deviceShard, parsePartitionSpec } from '@qflare/datasets';
import { labelHistogram } from '@qflare/fl';
import { encodeShard, type Project } from '@qflare/protocol';

export interface EncodedShard {
	bytes: Uint8Array;
	labelHistogram: number[];
}

/** Encoded demo shards, built once per (dataset, partition, index) and kept; a shard is at most a few MB. */
export class ShardService {
	readonly #cache = new Map<string, Promise<EncodedShard>>();

	shard(project: Project, shardIndex: number): Promise<EncodedShard> {
		const key = `${project.dataset}/${project.partition}/${project.shardCount}/${project.seed}/${shardIndex}`;
		let pending = this.#cache.get(key);
		if (!pending) {
			pending = deviceShard(project.dataset, {
				partition: parsePartitionSpec(project.partition),
				shardCount: project.shardCount,
				shardIndex,
				seed: project.seed
			}).then((set) => ({
				bytes: encodeShard(set),
				labelHistogram: labelHistogram(set.labels, Array.from({ length: set.count }, (_, i) => i), set.numClasses)
			}));
			pending.catch(() => this.#cache.delete(key));
			this.#cache.set(key, pending);
		}
		return pending;
	}
}
