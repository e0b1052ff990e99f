// `npm run examples`: builds the example data (datasets/examples) from packaged, offline sources.
// `npm run examples -- split NAME --participants N ...`: one CSV file or image folder per participant.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildExamples, DEFAULT_IMAGES_PER_CLASS, EXAMPLES_DIR } from './build-examples';
import { EXAMPLE_NAMES, parseExampleName } from './example-names';
import { splitExample } from './split-example';

const USAGE = `usage: npm run examples [-- options]
  --only NAME[,NAME...]     build only these (${EXAMPLE_NAMES.join(', ')})
  --images-per-class N      Fashion-MNIST images per class in fashion-mnist-images (default ${DEFAULT_IMAGES_PER_CLASS})
  --out DIR                 where the examples go (default datasets/examples)
  --cache DIR               downloaded .debs and their files (default datasets/.cache)

       npm run examples -- split NAME --participants N [--partition iid|dirichlet:ALPHA] [--seed S] --out DIR
  one CSV file or image folder per participant, plus task.json and split.json, in DIR`;

function positiveInteger(flag: string, text: string | undefined, fallback: number, min: number): number {
	if (text === undefined) return fallback;
	const n = Number(text);
	if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}, got ${text}`);
	return n;
}

async function main(argv: string[]): Promise<number> {
	const { values, positionals } = parseArgs({
		args: argv,
		options: {
			only: { type: 'string' },
			'images-per-class': { type: 'string' },
			out: { type: 'string' },
			cache: { type: 'string' },
			participants: { type: 'string' },
			partition: { type: 'string', default: 'iid' },
			seed: { type: 'string' },
			help: { type: 'boolean', short: 'h' }
		},
		allowPositionals: true
	});
	if (values.help) {
		console.log(USAGE);
		return 0;
	}
	const build = {
		outDir: path.resolve(values.out && positionals[0] !== 'split' ? values.out : EXAMPLES_DIR),
		cacheDir: values.cache,
		imagesPerClass: positiveInteger('images-per-class', values['images-per-class'], DEFAULT_IMAGES_PER_CLASS, 1)
	};

	if (positionals[0] === 'split') {
		if (positionals.length !== 2) throw new Error('split takes one example name');
		if (!values.out) throw new Error('split needs --out DIR');
		const name = parseExampleName(positionals[1]);
		const participants = positiveInteger('participants', values.participants, 0, 1);
		if (participants === 0) throw new Error('split needs --participants N');
		const manifest = await splitExample(name, participants, values.partition, positiveInteger('seed', values.seed, 1, 0), values.out, build);
		for (const part of manifest.parts) {
			console.log(`${path.join(values.out, part.path)}: ${part.count}${part.labelHistogram ? ` [${part.labelHistogram.join(' ')}]` : ''}`);
		}
		console.log(`${manifest.example} split ${manifest.partition} seed ${manifest.seed}: ${manifest.method}`);
		return 0;
	}
	if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);

	const names = values.only ? values.only.split(',').map((n) => parseExampleName(n.trim())) : EXAMPLE_NAMES;
	const started = Date.now();
	const { built, failed } = await buildExamples(names, build);
	for (const b of built) {
		const unit = b.task.kind === 'image-classification' ? 'images' : 'rows';
		console.log(`${b.cached ? 'cached' : 'built '} ${path.relative(process.cwd(), b.dataPath)}: ${b.count} ${unit}${b.note ? ` (${b.note})` : ''}`);
	}
	for (const f of failed) console.error(`FAILED ${f.name}: ${f.error.message}`);
	console.log(`${built.length} examples in ${build.outDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
	return failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
	(code) => process.exit(code),
	(e: unknown) => {
		console.error(e instanceof Error ? e.message : String(e));
		console.error(USAGE);
		process.exit(2);
	}
);
