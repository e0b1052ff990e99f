import { dirichletPartition, iidPartition } from '@qflare/fl';
import type { DatasetName, LabelledSet } from '@qflare/protocol';
import { loadFashionMnist } from './fashion-mnist';
import { shardOf, type DatasetSplits } from './image-set';
import { loadMnist } from './mnist';
import type { PartitionPlan } from './partition-spec';

const cache = new Map<DatasetName, Promise<DatasetSplits>>();

/**
 * Train and test splits, loaded once per process. The arrays are shared between callers:
 * treat them as read-only (shardOf copies).
 */
export function loadDataset(name: DatasetName): Promise<DatasetSplits> {
	let pending = cache.get(name);
	if (!pending) {
		if (name === 'mnist') pending = loadMnist();
		else if (name === 'fashion-mnist') pending = loadFashionMnist();
		else throw new Error(`unknown dataset "${String(name)}"`);
		// A failed load (say, a missing apt package) should not stick for the process.
		pending.catch(() => cache.delete(name));
		cache.set(name, pending);
	}
	return pending;
}

export interface ShardOptions {
	partition: PartitionPlan;
	shardCount: number;
	seed: number;
}

/** Index lists of every device's share of a train split. */
export function partitionIndices(train: LabelledSet, { partition, shardCount, seed }: ShardOptions): number[][] {
	return partition === 'iid'
		? iidPartition(train.count, shardCount, seed)
		: dirichletPartition(train.labels, train.numClasses, shardCount, partition.dirichletAlpha, seed);
}

/** One device's share of the train split; the test split is never handed out. */
export async function deviceShard(
	name: DatasetName,
	options: ShardOptions & { shardIndex: number }
): Promise<LabelledSet> {
	const { shardIndex, shardCount } = options;
	if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
		throw new Error(`shardIndex ${shardIndex} is outside 0..${shardCount - 1}`);
	}
	const { train } = await loadDataset(name);
	return shardOf(train, partitionIndices(train, options)[shardIndex]);
}
