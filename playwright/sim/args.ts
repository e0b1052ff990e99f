import { parseArgs } from 'node:util';
import { DatasetName, ModelName, PartitionSpec, StrategyConfig } from '@qflare/protocol';

export interface SimOptions {
	browsers: number;
	nodeParticipants: number;
	dataset: DatasetName;
	model: ModelName;
	partition: string;
	rounds: number;
	fraction: number;
	localEpochs: number;
	batchSize: number;
	learningRate: number;
	/** Chance that a selected participant leaves mid-training, for good. */
	dropout: number;
	strategy: StrategyConfig;
	seed: number;
	out: string;
	minParticipants: number;
	roundTimeoutSec: number;
	/** Browser pages (each its own context) per Chromium process. */
	pagesPerBrowser: number;
	/** Node participants per child process; 0 hosts them all in the runner's own process. */
	nodesPerProcess: number;
}

export type ParsedSimArgs = { help: true } | { help: false; options: SimOptions };

export class SimUsageError extends Error {
	override readonly name = 'SimUsageError';
}

export const SIM_USAGE = `usage: npm run sim -- [options]

  --browsers N            Chromium participants (default 2)
  --node-participants M   headless Node participants (default 0)
  --dataset D             mnist | fashion-mnist (default mnist)
  --model M               mlp | cnn (default mlp)
  --partition P           iid | dirichlet:ALPHA (default iid)
  --rounds R              committed rounds to run (default 5)
  --fraction C            share of ready participants selected per round (default 1)
  --local-epochs E        (default 1)
  --batch B               (default 10)
  --lr L                  (default 0.1)
  --dropout P             chance a selected participant drops out mid-training (default 0)
  --strategy S            fedavg | fedavgm | fedadam | fedyogi | fedadagrad | fednova | median |
                          trimmed-mean | krum | multi-krum | perffedavg | dp-fedavg, or a JSON
                          StrategyConfig; named ones get the defaults listed in the README
  --seed K                seeds the project (model init, data split) and the dropouts (default 1)
  --out DIR               report.json and chart.png go here (default sim-out)
  --min-participants Q    quorum per round (default: half the participants expected to finish)
  --round-timeout SEC     round deadline (default 60 for mlp, 900 for cnn)
  --pages-per-browser K   pages per Chromium process (default 8)
  --nodes-per-process J   Node participants per child process; 0 = all in this process (default 0)
  -h, --help              show this help`;

/** Server-side parameters for the strategies that need them; --strategy accepts JSON to override. */
const STRATEGY_DEFAULTS: Record<string, Record<string, unknown>> = {
	fedavgm: { serverLearningRate: 1, momentum: 0.9 },
	fedadam: { serverLearningRate: 0.01 },
	fedyogi: { serverLearningRate: 0.01 },
	fedadagrad: { serverLearningRate: 0.01 },
	'trimmed-mean': { trimFraction: 0.1 },
	krum: { byzantine: 1 },
	'multi-krum': { byzantine: 1, selected: 2 },
	perffedavg: { alpha: 0.5 },
	'dp-fedavg': { clipNorm: 1, noiseMultiplier: 1 }
};

export function parseStrategy(text: string): StrategyConfig {
	const raw: unknown = text.trim().startsWith('{') ? JSON.parse(text) : { name: text, ...(STRATEGY_DEFAULTS[text] ?? {}) };
	const parsed = StrategyConfig.safeParse(raw);
	if (!parsed.success) throw new SimUsageError(`--strategy ${text}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
	return parsed.data;
}

function int(name: string, value: string | undefined, fallback: number, min: number): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isInteger(n) || n < min) throw new SimUsageError(`--${name} must be an integer >= ${min}, got ${value}`);
	return n;
}

function num(name: string, value: string | undefined, fallback: number, ok: (n: number) => boolean, what: string): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isFinite(n) || !ok(n)) throw new SimUsageError(`--${name} must be ${what}, got ${value}`);
	return n;
}

/**
 * Quorum when none is given: half the participants a round is expected to hear back from, so
 * a round with a few more dropouts than average still commits at its deadline.
 */
export function defaultMinParticipants(total: number, fraction: number, dropout: number): number {
	const selected = Math.min(total, Math.ceil(fraction * total));
	return Math.max(1, Math.floor((selected * (1 - dropout)) / 2));
}

export function parseSimArgs(argv: readonly string[]): ParsedSimArgs {
	let values: Record<string, string | boolean | undefined>;
	try {
		({ values } = parseArgs({
			args: [...argv],
			options: {
				browsers: { type: 'string' },
				'node-participants': { type: 'string' },
				dataset: { type: 'string' },
				model: { type: 'string' },
				partition: { type: 'string' },
				rounds: { type: 'string' },
				fraction: { type: 'string' },
				'local-epochs': { type: 'string' },
				batch: { type: 'string' },
				lr: { type: 'string' },
				dropout: { type: 'string' },
				strategy: { type: 'string' },
				seed: { type: 'string' },
				out: { type: 'string' },
				'min-participants': { type: 'string' },
				'round-timeout': { type: 'string' },
				'pages-per-browser': { type: 'string' },
				'nodes-per-process': { type: 'string' },
				help: { type: 'boolean', short: 'h' }
			},
			strict: true,
			allowPositionals: false
		}));
	} catch (e) {
		throw new SimUsageError((e as Error).message);
	}
	if (values.help) return { help: true };
	const s = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);

	const browsers = int('browsers', s('browsers'), 2, 0);
	const nodeParticipants = int('node-participants', s('node-participants'), 0, 0);
	if (browsers + nodeParticipants < 1) throw new SimUsageError('need at least one participant');
	const dataset = DatasetName.safeParse(s('dataset') ?? 'mnist');
	if (!dataset.success) throw new SimUsageError(`--dataset must be mnist or fashion-mnist, got ${s('dataset')}`);
	const model = ModelName.safeParse(s('model') ?? 'mlp');
	if (!model.success) throw new SimUsageError(`--model must be mlp or cnn, got ${s('model')}`);
	const partition = PartitionSpec.safeParse(s('partition') ?? 'iid');
	if (!partition.success) throw new SimUsageError(`--partition must be iid or dirichlet:ALPHA, got ${s('partition')}`);
	const fraction = num('fraction', s('fraction'), 1, (n) => n > 0 && n <= 1, 'in (0, 1]');
	const dropout = num('dropout', s('dropout'), 0, (n) => n >= 0 && n < 1, 'in [0, 1)');
	const total = browsers + nodeParticipants;
	const minParticipants = int('min-participants', s('min-participants'), defaultMinParticipants(total, fraction, dropout), 1);
	if (minParticipants > total) throw new SimUsageError(`--min-participants ${minParticipants} exceeds the ${total} participants`);

	return {
		help: false,
		options: {
			browsers,
			nodeParticipants,
			dataset: dataset.data,
			model: model.data,
			partition: partition.data,
			rounds: int('rounds', s('rounds'), 5, 1),
			fraction,
			localEpochs: int('local-epochs', s('local-epochs'), 1, 1),
			batchSize: int('batch', s('batch'), 10, 1),
			learningRate: num('lr', s('lr'), 0.1, (n) => n > 0 && n <= 10, 'in (0, 10]'),
			dropout,
			strategy: parseStrategy(s('strategy') ?? 'fedavg'),
			seed: int('seed', s('seed'), 1, 0),
			out: s('out') ?? 'sim-out',
			minParticipants,
			roundTimeoutSec: int('round-timeout', s('round-timeout'), model.data === 'cnn' ? 900 : 60, 5),
			pagesPerBrowser: int('pages-per-browser', s('pages-per-browser'), 8, 1),
			nodesPerProcess: int('nodes-per-process', s('nodes-per-process'), 0, 0)
		}
	};
}
