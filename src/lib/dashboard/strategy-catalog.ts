import { STRATEGIES_KEEPING_UPDATES, StrategyConfig, type StrategyConfigInput, type StrategyName } from '@qflare/protocol';

// What the dashboard says about each aggregation strategy: labels, one-line summaries, the
// hyperparameters a coordinator may set, and starting values for those the schema leaves
// without a default. The schema stays the authority on what is valid.

type Variant<N extends StrategyName> = Extract<StrategyConfigInput, { name: N }>;
export type StrategyParamKey<N extends StrategyName> = Exclude<keyof Variant<N>, 'name'> & string;

export interface StrategyParam<K extends string = string> {
	key: K;
	label: string;
	/** HTML number input step. */
	step: string;
	min?: number;
	max?: number;
	hint: string;
	/** An empty input means null (e.g. "no limit") instead of a missing value. */
	optional?: true;
}

export interface StrategyInfo<N extends StrategyName = StrategyName> {
	name: N;
	label: string;
	summary: string;
	params: StrategyParam<StrategyParamKey<N>>[];
	/** Values for the parameters the schema has no default for; the schema fills in the rest. */
	starting: Omit<Variant<N>, 'name'>;
}

type Catalog = { [N in StrategyName]: StrategyInfo<N> };

const serverLearningRate = (hint: string): StrategyParam<'serverLearningRate'> => ({
	key: 'serverLearningRate',
	label: 'Server learning rate',
	step: 'any',
	min: 0,
	hint
});
const beta1: StrategyParam<'beta1'> = { key: 'beta1', label: 'β1', step: 'any', min: 0, max: 1, hint: 'Decay of the update average (momentum); < 1' };
const beta2: StrategyParam<'beta2'> = { key: 'beta2', label: 'β2', step: 'any', min: 0, max: 1, hint: 'Decay of the squared-update average; in (0, 1)' };
const tau: StrategyParam<'tau'> = { key: 'tau', label: 'τ', step: 'any', min: 0, hint: 'Adaptivity floor: larger behaves more like plain SGD' };
const byzantine: StrategyParam<'byzantine'> = {
	key: 'byzantine',
	label: 'Attackers f',
	step: '1',
	min: 0,
	hint: 'f: devices per round assumed malicious; needs at least 2f + 3 devices per round'
};

export const STRATEGY_CATALOG: Catalog = {
	fedavg: {
		name: 'fedavg',
		label: 'FedAvg',
		summary: 'Sample-weighted mean of the updates (McMahan et al. 2017).',
		params: [],
		starting: {}
	},
	fednova: {
		name: 'fednova',
		label: 'FedNova',
		summary: 'Normalises each update by its local step count, so devices doing more steps do not dominate.',
		params: [],
		starting: {}
	},
	fedavgm: {
		name: 'fedavgm',
		label: 'FedAvgM',
		summary: 'FedAvg with server momentum on the averaged update.',
		params: [
			serverLearningRate('Step on the averaged update; 1 with momentum 0 is FedAvg'),
			{ key: 'momentum', label: 'Momentum', step: 'any', min: 0, max: 1, hint: 'Share of the previous server step carried over; < 1' }
		],
		starting: { serverLearningRate: 1 }
	},
	fedadagrad: {
		name: 'fedadagrad',
		label: 'FedAdagrad',
		summary: 'Adagrad on the server, the averaged update as pseudo-gradient (Reddi et al. 2021).',
		params: [serverLearningRate('Reddi et al. tune it on a log grid; try 0.01 to 1'), beta1, tau],
		starting: { serverLearningRate: 0.1 }
	},
	fedadam: {
		name: 'fedadam',
		label: 'FedAdam',
		summary: 'Adam on the server, the averaged update as pseudo-gradient (Reddi et al. 2021).',
		params: [serverLearningRate('Reddi et al. tune it on a log grid; try 0.001 to 0.1'), beta1, beta2, tau],
		starting: { serverLearningRate: 0.01 }
	},
	fedyogi: {
		name: 'fedyogi',
		label: 'FedYogi',
		summary: 'Yogi on the server: like FedAdam with a more cautious second moment (Reddi et al. 2021).',
		params: [serverLearningRate('Reddi et al. tune it on a log grid; try 0.001 to 0.1'), beta1, beta2, tau],
		starting: { serverLearningRate: 0.01 }
	},
	median: {
		name: 'median',
		label: 'Coordinate-wise median',
		summary: 'Per-weight median of the updates; robust to a minority of arbitrary updates.',
		params: [],
		starting: {}
	},
	'trimmed-mean': {
		name: 'trimmed-mean',
		label: 'Trimmed mean',
		summary: 'Per-weight mean after dropping the largest and smallest values.',
		params: [
			{ key: 'trimFraction', label: 'Trim fraction β', step: 'any', min: 0, max: 0.5, hint: 'β: share cut from each end of every weight; < 0.5' }
		],
		starting: { trimFraction: 0.1 }
	},
	krum: {
		name: 'krum',
		label: 'Krum',
		summary: 'Picks the single update closest to its n − f − 2 nearest neighbours (Blanchard et al. 2017).',
		params: [byzantine],
		starting: { byzantine: 1 }
	},
	'multi-krum': {
		name: 'multi-krum',
		label: 'Multi-Krum',
		summary: 'Averages the m updates with the best Krum scores.',
		params: [
			byzantine,
			{ key: 'selected', label: 'Selected m', step: '1', min: 1, hint: 'm: best-scored updates averaged; 1 is Krum, at most n − f' }
		],
		starting: { byzantine: 1, selected: 2 }
	},
	perffedavg: {
		name: 'perffedavg',
		label: 'PerfFedAvg',
		summary: 'Weights each update by a mix of its sample count and its local validation accuracy.',
		params: [{ key: 'alpha', label: 'α', step: 'any', min: 0, max: 1, hint: '1 weights by samples only (FedAvg), 0 by validation accuracy only' }],
		starting: { alpha: 0.5 }
	},
	'dp-fedavg': {
		name: 'dp-fedavg',
		label: 'DP-FedAvg',
		summary: 'Clipped updates plus Gaussian noise on their sum; reports (ε, δ) per round (McMahan et al. 2018).',
		params: [
			{ key: 'clipNorm', label: 'Clip norm C', step: 'any', min: 0, hint: 'C: devices clip their update to this L2 norm' },
			{ key: 'noiseMultiplier', label: 'Noise multiplier z', step: 'any', min: 0, hint: 'z: noise std is z·C on the sum; larger spends ε slower' },
			{ key: 'delta', label: 'δ', step: 'any', min: 0, max: 1, hint: 'δ of (ε, δ)-DP; keep it below 1 / number of devices' },
			{ key: 'targetEpsilon', label: 'Target ε', step: 'any', min: 0, hint: 'Stop before a round would exceed it; empty = no limit', optional: true }
		],
		starting: { clipNorm: 1, noiseMultiplier: 1, targetEpsilon: null }
	}
};

// Each entry is typed by its own strategy; the list is read through the common shape.
export const STRATEGY_LIST: readonly StrategyInfo[] = Object.values(STRATEGY_CATALOG) as readonly StrategyInfo[];

export function strategyInfo(name: StrategyName): StrategyInfo {
	return STRATEGY_CATALOG[name] as StrategyInfo;
}

/** Robust strategies hold a whole round of updates before they can aggregate. */
export function keepsUpdates(name: StrategyName): boolean {
	return STRATEGIES_KEEPING_UPDATES.includes(name);
}

export const MEMORY_NOTE = 'Keeps every update of a round in server memory until it aggregates: O(participants × model).';

/** A complete config for the strategy: the catalog's starting values, then the schema's defaults. */
export function strategyDefaults(name: StrategyName): StrategyConfig {
	return StrategyConfig.parse({ name, ...STRATEGY_CATALOG[name].starting });
}
