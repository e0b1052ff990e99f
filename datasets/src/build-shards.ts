// CLI: tsx datasets/src/build-shards.ts --dataset mnist --shards 10 --partition iid|dirichlet:0.5 --seed 1 --out DIR
import { parseArgs } from 'node:util';
import { DatasetName } from '@qflare/protocol';
import { parsePartitionSpec } from './partition-spec';
import { writeShardFiles } from './shard-files';

const usage =
	'usage: tsx datasets/src/build-shards.ts --dataset mnist|fashion-mnist --shards N ' +
	'--partition iid|dirichlet:ALPHA --seed S --out DIR';

function integer(name: string, text: string | undefined, min: number): number {
	const value = Number(text);
	if (text === undefined || !Number.isInteger(value) || value < min) {
		throw new Error(`--${name} must be an integer >= ${min}`);
	}
	return value;
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			dataset: { type: 'string' },
			shards: { type: 'string' },
			partition: { type: 'string', default: 'iid' },
			seed: { type: 'string', default: '1' },
			out: { type: 'string' },
			help: { type: 'boolean', short: 'h' }
		}
	});
	if (values.help) {
		console.log(usage);
		return;
	}
	const dataset = DatasetName.safeParse(values.dataset);
	if (!dataset.success) throw new Error(`--dataset must be one of ${DatasetName.options.join(', ')}`);
	if (!values.out) throw new Error('--out DIR is required');
	const options = {
		partition: parsePartitionSpec(values.partition),
		shardCount: integer('shards', values.shards, 1),
		seed: integer('seed', values.seed, 0)
	};
	const manifest = await writeShardFiles(dataset.data, options, values.out);
	const sizes = manifest.shards.map((s) => s.count);
	console.log(
		`${manifest.dataset} ${manifest.partitionSpec} seed ${manifest.seed}: ${sizes.length} shards ` +
			`(${Math.min(...sizes)}..${Math.max(...sizes)} examples), test ${manifest.test.count} -> ${values.out}`
	);
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : error);
	console.error(usage);
	process.exit(1);
});
