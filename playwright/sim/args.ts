import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXAMPLE_NAMES, EXAMPLE_TASKS, isExampleName, SPLIT_TASK, type ExampleName } from '@qflare/datasets/examples';
import {
	DatasetName,
	ModelName,
	PartitionSpec,
	projectConfigProblems,
	StrategyConfig,
	TaskSchema,
	UpdateEncoding,
	type SecureAggregationConfig
} from '@qflare/protocol';

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
	/** Local data (--data-dir or --example): each participant trains on its own files; null = demo shards. */
	local: LocalDataOptions | null;
	/** How participants send updates (--encoding). */
	updateEncoding: UpdateEncoding;
	/** --secure: SECURE_SIM_SETTINGS; null = updates in the clear. */
	secureAggregation: SecureAggregationConfig | null;
}

/** --secure's settings: coordinates clipped to [-1, 1], up to 10 000 samples per client, auto degree. */
export const SECURE_SIM_SETTINGS: SecureAggregationConfig = { clip: 1, maxSamplesPerClient: 10_000, degree: null };

export interface LocalDataOptions {
	/** One CSV file or image folder per participant (sorted by name; browsers take the first ones). */
	dataDir: string;
	/** --example: built and split into dataDir (<out>/data) before the run; null with --data-dir. */
	example: ExampleName | null;
	task: TaskSchema;
	/** Where the task came from: a file, or the example's name. */
	taskSource: string;
	holdOutFraction: number;
	/** Neither --browsers nor --node-participants given: the data folder decides the counts. */
	countsFromData: boolean;
	/** --min-participants as given; null = the default for however many participants the data has. */
	explicitMinParticipants: number | null;
}

export type ParsedSimArgs = { help: true } | { help: false; options: SimOptions };

export class SimUsageError extends Error {
	override readonly name = 'SimUsageError';
}

export const SIM_USAGE = `usage: npm run sim -- [options]

  --browsers N            Chromium participants (default 2)
  --node-participants M   headless Node participants (default 0)
  --dataset D             demo data: mnist | fashion-mnist (default mnist)
  --data-dir DIR          local data: one CSV file or image folder per participant (as
                          \`npm run examples -- split\` writes); browsers take the first entries
                          by name. Without --browsers/--node-participants: up to 2 browsers, the
                          rest Node participants
  --task FILE             the task schema JSON for --data-dir (default DIR/task.json)
  --example NAME          local data: build example NAME and split it with --partition/--seed
                          into OUT/data, one part per participant; NAME is one of
                          ${EXAMPLE_NAMES.join(', ')}
  --hold-out F            local data: share of each participant's data held out for federated
                          evaluation (default 0.15)
  --model M               demo: mlp | cnn (default mlp); local data: a model for the task
                          (tabular: logistic | mlp; images: mlp | cnn-small | cnn; time series:
                          gru | conv1d; default the first)
  --partition P           iid | dirichlet:ALPHA (default iid; time series: iid = consecutive periods)
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
  --round-timeout SEC     round deadline (default 900 for cnn, 300 for cnn-small and gru, else 60)
  --pages-per-browser K   pages per Chromium process (default 8)
  --nodes-per-process J   Node participants per child process; 0 = all in this process (default 0)
  --encoding E            update encoding: f32 | f16 | int8 | top-k:FRACTION, e.g. top-k:0.1
                          (default f32)
  --secure                secure aggregation (clip 1, 10 000 samples per client, auto degree);
                          needs a strategy that uses only the sum, no norm screening, f32
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

/** `f32`, `f16`, `int8` or `top-k:FRACTION`. */
export function parseEncoding(text: string): UpdateEncoding {
	const topK = /^top-k:(.+)$/.exec(text);
	const raw = topK ? { kind: 'top-k', fraction: Number(topK[1]) } : { kind: text };
	const parsed = UpdateEncoding.safeParse(raw);
	if (!parsed.success) throw new SimUsageError(`--encoding must be f32, f16, int8 or top-k:FRACTION with FRACTION in (0, 0.5], got ${text}`);
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

/**
 * The quickest model of each task kind on our machines: conv layers have no wasm gradient
 * kernels, so cnn-small and conv1d fall back to the cpu backend in Node (conv1d on co2: about
 * 170 ms/step against the GRU's 25 ms on wasm).
 */
const LOCAL_DEFAULT_MODEL: Record<TaskSchema['kind'], ModelName> = { tabular: 'logistic', 'image-classification': 'mlp', 'time-series': 'gru' };

/** Conv layers train slowly on CPU backends (FACTS.md), GRUs step through every window row. */
const DEFAULT_ROUND_TIMEOUT_SEC: Record<ModelName, number> = { cnn: 900, 'cnn-small': 300, gru: 300, mlp: 60, logistic: 60, conv1d: 60 };

function readTaskFile(file: string): TaskSchema {
	let raw: unknown;
	try {
		raw = JSON.parse(readFileSync(file, 'utf8'));
	} catch (e) {
		throw new SimUsageError(`task file ${file}: ${(e as Error).message}`);
	}
	const task = TaskSchema.safeParse(raw);
	if (!task.success) {
		throw new SimUsageError(`task file ${file}: ${task.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
	}
	return task.data;
}

type LocalDataArgs = Omit<LocalDataOptions, 'countsFromData' | 'explicitMinParticipants'>;

/** --data-dir / --task / --example / --hold-out, checked; null for a demo-data run. */
function localData(s: (k: string) => string | undefined, out: string): LocalDataArgs | null {
	const dataDir = s('data-dir');
	const example = s('example');
	const holdOutText = s('hold-out');
	if (dataDir === undefined && example === undefined) {
		for (const flag of ['task', 'hold-out']) if (s(flag) !== undefined) throw new SimUsageError(`--${flag} goes with --data-dir or --example`);
		return null;
	}
	if (dataDir !== undefined && example !== undefined) throw new SimUsageError('--data-dir and --example cannot be used together');
	if (s('dataset') !== undefined) throw new SimUsageError('--dataset names demo data; it does not go with --data-dir or --example');
	const holdOutFraction = num('hold-out', holdOutText, 0.15, (n) => n >= 0 && n <= 0.5, 'in [0, 0.5]');
	if (example !== undefined) {
		if (!isExampleName(example)) throw new SimUsageError(`--example must be one of ${EXAMPLE_NAMES.join(', ')}, got ${example}`);
		if (s('task') !== undefined) throw new SimUsageError(`--task does not go with --example: the example brings its task`);
		return { dataDir: path.join(out, 'data'), example, task: EXAMPLE_TASKS[example], taskSource: `example ${example}`, holdOutFraction };
	}
	const dir = path.resolve(dataDir as string);
	const taskFile = path.resolve(s('task') ?? path.join(dir, SPLIT_TASK));
	return { dataDir: dir, example: null, task: readTaskFile(taskFile), taskSource: taskFile, holdOutFraction };
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
				'data-dir': { type: 'string' },
				task: { type: 'string' },
				example: { type: 'string' },
				'hold-out': { type: 'string' },
				encoding: { type: 'string' },
				secure: { type: 'boolean' },
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
	const countsGiven = s('browsers') !== undefined || s('node-participants') !== undefined;
	const nodeParticipants = int('node-participants', s('node-participants'), 0, 0);
	if (browsers + nodeParticipants < 1) throw new SimUsageError('need at least one participant');
	const dataset = DatasetName.safeParse(s('dataset') ?? 'mnist');
	if (!dataset.success) throw new SimUsageError(`--dataset must be mnist or fashion-mnist, got ${s('dataset')}`);
	const local = localData(s, path.resolve(s('out') ?? 'sim-out'));
	const model = ModelName.safeParse(s('model') ?? (local ? LOCAL_DEFAULT_MODEL[local.task.kind] : 'mlp'));
	if (!model.success) throw new SimUsageError(`--model must be one of ${ModelName.options.join(', ')}, got ${s('model')}`);
	const problems = projectConfigProblems({ dataSource: local ? 'local' : 'demo', task: local?.task ?? null, model: model.data });
	if (problems.length) throw new SimUsageError(`--model ${model.data}: ${problems.join('; ')}`);
	const updateEncoding = parseEncoding(s('encoding') ?? 'f32');
	const secureAggregation = values.secure === true ? SECURE_SIM_SETTINGS : null;
	const strategy = parseStrategy(s('strategy') ?? 'fedavg');
	const partition = PartitionSpec.safeParse(s('partition') ?? 'iid');
	if (!partition.success) throw new SimUsageError(`--partition must be iid or dirichlet:ALPHA, got ${s('partition')}`);
	const fraction = num('fraction', s('fraction'), 1, (n) => n > 0 && n <= 1, 'in (0, 1]');
	const dropout = num('dropout', s('dropout'), 0, (n) => n >= 0 && n < 1, 'in [0, 1)');
	const total = browsers + nodeParticipants;
	// A secure round needs 3 devices at least (with 2, each would learn the other's update from the sum).
	const minDefault = Math.max(defaultMinParticipants(total, fraction, dropout), secureAggregation ? Math.min(3, total) : 1);
	const minParticipants = int('min-participants', s('min-participants'), minDefault, 1);
	const countsFromData = local !== null && local.example === null && !countsGiven;
	// With counts from a data folder the total is known only once the folder is read (resolveParticipants).
	if (minParticipants > total && !countsFromData) throw new SimUsageError(`--min-participants ${minParticipants} exceeds the ${total} participants`);
	// The server's own check, so a clash is a usage error here rather than a refused project later.
	const secureProblems = projectConfigProblems({
		dataSource: local ? 'local' : 'demo',
		task: local?.task ?? null,
		model: model.data,
		strategy,
		updateEncoding,
		secureAggregation,
		minParticipants
	});
	if (secureProblems.length) throw new SimUsageError(`--secure: ${secureProblems.join('; ')}`);

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
			strategy,
			seed: int('seed', s('seed'), 1, 0),
			out: s('out') ?? 'sim-out',
			minParticipants,
			roundTimeoutSec: int('round-timeout', s('round-timeout'), DEFAULT_ROUND_TIMEOUT_SEC[model.data], 5),
			pagesPerBrowser: int('pages-per-browser', s('pages-per-browser'), 8, 1),
			nodesPerProcess: int('nodes-per-process', s('nodes-per-process'), 0, 0),
			local: local && {
				...local,
				countsFromData,
				explicitMinParticipants: s('min-participants') === undefined ? null : minParticipants
			},
			updateEncoding,
			secureAggregation
		}
	};
}
