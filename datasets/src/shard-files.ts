import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labelHistogram } from '@qflare/fl';
import { encodeShard, type DatasetName, type LabelledSet } from '@qflare/protocol';
import { partitionIndices, loadDataset, type ShardOptions } from './datasets';
import { shardOf } from './image-set';
import { formatPartitionSpec, type PartitionPlan } from './partition-spec';

export interface ShardFileEntry {
	file: string;
	count: number;
	labelHistogram: number[];
	/** Lowercase hex SHA-256 of the file, so clients can verify and cache by content. */
	sha256: string;
}

export interface ShardManifest {
	format: 'QFS1';
	dataset: DatasetName;
	partition: PartitionPlan;
	partitionSpec: string;
	seed: number;
	shardCount: number;
	width: number;
	height: number;
	numClasses: number;
	shards: ShardFileEntry[];
	test: ShardFileEntry;
}

export function shardFileName(index: number): string {
	return `shard-${String(index).padStart(3, '0')}.bin`;
}

async function writeSet(dir: string, file: string, set: LabelledSet): Promise<ShardFileEntry> {
	const bytes = encodeShard(set);
	await writeFile(join(dir, file), bytes);
	const all = Array.from({ length: set.count }, (_, i) => i);
	return {
		file,
		count: set.count,
		labelHistogram: labelHistogram(set.labels, all, set.numClasses),
		sha256: createHash('sha256').update(bytes).digest('hex')
	};
}

/** Writes shard-NNN.bin for every device, test.bin and manifest.json into outDir. */
export async function writeShardFiles(dataset: DatasetName, options: ShardOptions, outDir: string): Promise<ShardManifest> {
	const { train, test } = await loadDataset(dataset);
	const parts = partitionIndices(train, options);
	await mkdir(outDir, { recursive: true });
	const shards: ShardFileEntry[] = [];
	for (let i = 0; i < parts.length; i++) shards.push(await writeSet(outDir, shardFileName(i), shardOf(train, parts[i])));
	const manifest: ShardManifest = {
		format: 'QFS1',
		dataset,
		partition: options.partition,
		partitionSpec: formatPartitionSpec(options.partition),
		seed: options.seed,
		shardCount: options.shardCount,
		width: train.width,
		height: train.height,
		numClasses: train.numClasses,
		shards,
		test: await writeSet(outDir, 'test.bin', test)
	};
	await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
	return manifest;
}
