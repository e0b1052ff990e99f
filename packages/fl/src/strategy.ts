// One interface over every aggregation rule, so the round coordinator holds a strategy without
// knowing which. Streaming strategies fold updates as they arrive; robust ones keep them.
import type { StrategyConfigInput } from '@qflare/protocol';
import { DpFedAvgAccumulator, createSecureGaussian, type GaussianSource } from './dp';
import { FedAvgAccumulator, applyDelta } from './fedavg';
import { FedNovaAccumulator } from './fednova';
import type { PartialAggregate, RunningSums } from './partial-aggregate';
import { PerfFedAvgAccumulator } from './perffedavg';
import { coordinateMedian, multiKrum, trimmedMean } from './robust';
import {
	applyServerOptimizer,
	createServerOptimizerState,
	type ServerOptimizerName,
	type ServerOptimizerParams,
	type ServerOptimizerState
} from './server-optimizers';

/** Defaults Reddi et al. 2021 use throughout their experiments (beta1, beta2, tau = 1e-3). */
export const SERVER_OPTIMIZER_DEFAULTS = { beta1: 0.9, beta2: 0.99, tau: 1e-3, momentum: 0.9 } as const;

/**
 * The protocol's strategy config as a client writes it (defaults not yet applied); the wire
 * schema lives in @qflare/protocol. dp-fedavg may also name the clients expected per round,
 * the denominator McMahan et al. 2018 use.
 */
export type StrategyConfig = WithExpectedClients<StrategyConfigInput>;
type WithExpectedClients<C> = C extends { name: 'dp-fedavg' } ? C & { expectedClients?: number } : C;

export type StrategyName = StrategyConfig['name'];

export const STRATEGY_NAMES: readonly StrategyName[] = [
	'fedavg', 'fednova', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi',
	'median', 'trimmed-mean', 'krum', 'multi-krum', 'perffedavg', 'dp-fedavg'
];

export interface ClientUpdate {
	delta: Float32Array;
	numSamples: number;
	/** Local optimisation steps; FedNova needs it. */
	steps?: number;
	/** Accuracy on the client's validation split in [0, 1]; PerfFedAvg needs it. */
	valAccuracy?: number;
}

export interface AggregationStrategy {
	readonly name: StrategyName;
	/** True when the strategy holds every update until finish (memory O(clients x model)). */
	readonly keepsUpdates: boolean;
	readonly count: number;
	/** Throws on an update it cannot use; screen updates (screenUpdate) before adding them. */
	add(update: ClientUpdate): void;
	/** The new global weights. Call once. */
	finish(global: Float32Array): Float32Array;
	/**
	 * A copy of the running sums, for the round's leader to merge(); null for strategies that
	 * keep every update (their leader adds the stored updates instead).
	 */
	partial(): PartialAggregate | null;
	/**
	 * Adds another instance's partial(), as if its updates had been added here; count includes
	 * them afterwards. Throws after finish(), on another strategy or length, and for strategies
	 * that keep every update.
	 */
	merge(partial: PartialAggregate): void;
	/** Server-optimiser strategies: the state to store after finish(), for the next round. */
	readonly state?: ServerOptimizerState;
}

export interface StrategyOptions {
	/** Noise for dp-fedavg; defaults to the platform CSPRNG. Tests inject a fixed source. */
	gaussian?: GaussianSource;
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function inRange(messages: string[], label: string, x: unknown, lo: number, hi: number, loOpen: boolean, hiOpen: boolean): void {
	const ok = isFiniteNumber(x) && (loOpen ? x > lo : x >= lo) && (hiOpen ? x < hi : x <= hi);
	if (!ok) messages.push(`${label} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${String(x)}`);
}

function positive(messages: string[], label: string, x: unknown): void {
	if (!(isFiniteNumber(x) && x > 0)) messages.push(`${label} must be a positive number, got ${String(x)}`);
}

function nonNegativeInteger(messages: string[], label: string, x: unknown): void {
	if (!(Number.isInteger(x) && (x as number) >= 0)) messages.push(`${label} must be a non-negative integer, got ${String(x)}`);
}

/**
 * Human-readable problems with a config's hyperparameters; empty when it is usable.
 * `clients`, when known (for example the project's minimum participants per round), lets the
 * checks that depend on n run now instead of failing at aggregation time.
 */
export function validateStrategyConfig(config: StrategyConfig, context: { clients?: number } = {}): string[] {
	const messages: string[] = [];
	const n = context.clients;
	switch (config.name) {
		case 'fedavg':
		case 'fednova':
		case 'median':
			break;
		case 'fedavgm':
			positive(messages, 'serverLearningRate', config.serverLearningRate);
			if (config.momentum !== undefined) inRange(messages, 'momentum', config.momentum, 0, 1, false, true);
			break;
		case 'fedadagrad':
		case 'fedadam':
		case 'fedyogi':
			positive(messages, 'serverLearningRate', config.serverLearningRate);
			if (config.beta1 !== undefined) inRange(messages, 'beta1', config.beta1, 0, 1, false, true);
			if (config.name !== 'fedadagrad' && config.beta2 !== undefined) inRange(messages, 'beta2', config.beta2, 0, 1, false, true);
			if (config.tau !== undefined) positive(messages, 'tau', config.tau);
			break;
		case 'trimmed-mean':
			inRange(messages, 'trim fraction', config.trimFraction, 0, 0.5, false, true);
			break;
		case 'krum':
		case 'multi-krum': {
			const f = config.byzantine;
			nonNegativeInteger(messages, 'byzantine (f)', f);
			if (n !== undefined && Number.isInteger(f) && !(n > 2 * f + 2)) {
				messages.push(`Krum needs n > 2f + 2 clients: n = ${n}, f = ${f} needs at least ${2 * f + 3}`);
			}
			if (config.name === 'multi-krum') {
				const m = config.selected;
				if (!(Number.isInteger(m) && m >= 1)) messages.push(`selected (m) must be an integer >= 1, got ${String(m)}`);
				else if (n !== undefined && Number.isInteger(f) && m > n - f) {
					messages.push(`Multi-Krum selects at most n - f updates: m = ${m}, n - f = ${n - f}`);
				}
			}
			break;
		}
		case 'perffedavg':
			inRange(messages, 'alpha', config.alpha, 0, 1, false, false);
			break;
		case 'dp-fedavg':
			positive(messages, 'clipNorm', config.clipNorm);
			if (!(isFiniteNumber(config.noiseMultiplier) && config.noiseMultiplier >= 0)) {
				messages.push(`noiseMultiplier must be a number >= 0, got ${String(config.noiseMultiplier)}`);
			}
			if (config.expectedClients !== undefined) positive(messages, 'expectedClients', config.expectedClients);
			break;
		default: {
			const unknown: { name?: unknown } = config;
			messages.push(`unknown strategy ${String(unknown.name)}; expected one of ${STRATEGY_NAMES.join(', ')}`);
		}
	}
	if (n !== undefined && !(Number.isInteger(n) && n >= 1)) messages.push(`clients must be an integer >= 1, got ${String(n)}`);
	return messages;
}

// Shared bookkeeping: counts, the finish-once rule, the length check.
abstract class BaseStrategy implements AggregationStrategy {
	abstract readonly name: StrategyName;
	abstract readonly keepsUpdates: boolean;
	private finished = false;
	protected received = 0;

	constructor(protected readonly length: number) {}

	get count(): number {
		return this.received;
	}

	add(update: ClientUpdate): void {
		if (this.finished) throw new Error(`${this.name}: round already aggregated`);
		if (update.delta.length !== this.length) throw new Error(`update has ${update.delta.length} values, expected ${this.length}`);
		this.fold(update);
		this.received++;
	}

	finish(global: Float32Array): Float32Array {
		if (this.finished) throw new Error(`${this.name}: finish() already called`);
		if (global.length !== this.length) throw new Error(`global has ${global.length} values, expected ${this.length}`);
		if (this.received === 0) throw new Error(`${this.name}: no updates to aggregate`);
		const next = this.combine(global);
		this.finished = true;
		return next;
	}

	partial(): PartialAggregate | null {
		const sums = this.runningSums();
		return sums === null ? null : { strategy: this.name, ...sums };
	}

	merge(partial: PartialAggregate): void {
		if (this.finished) throw new Error(`${this.name}: round already aggregated`);
		if (partial.strategy !== this.name) throw new Error(`${this.name}: cannot merge a ${partial.strategy} partial aggregate`);
		this.mergeSums(partial);
		this.received += partial.count;
	}

	protected abstract fold(update: ClientUpdate): void;
	protected abstract combine(global: Float32Array): Float32Array;
	/** The accumulator's snapshot; null when the strategy keeps updates. */
	protected abstract runningSums(): RunningSums | null;
	/** Validates the sums (layout, length, values) and adds them to the accumulator. */
	protected abstract mergeSums(sums: RunningSums): void;
}

class FedAvgStrategy extends BaseStrategy {
	readonly name = 'fedavg';
	readonly keepsUpdates = false;
	private readonly acc: FedAvgAccumulator;
	constructor(length: number) {
		super(length);
		this.acc = new FedAvgAccumulator(length);
	}
	protected fold(u: ClientUpdate): void {
		this.acc.add(u.delta, u.numSamples);
	}
	protected combine(global: Float32Array): Float32Array {
		return applyDelta(global, this.acc.mean());
	}
	protected runningSums(): RunningSums {
		return this.acc.snapshot();
	}
	protected mergeSums(sums: RunningSums): void {
		this.acc.merge(sums);
	}
}

class FedNovaStrategy extends BaseStrategy {
	readonly name = 'fednova';
	readonly keepsUpdates = false;
	private readonly acc: FedNovaAccumulator;
	constructor(length: number) {
		super(length);
		this.acc = new FedNovaAccumulator(length);
	}
	protected fold(u: ClientUpdate): void {
		if (u.steps === undefined) throw new Error('fednova: update has no local step count');
		this.acc.add(u.delta, u.numSamples, u.steps);
	}
	protected combine(global: Float32Array): Float32Array {
		return applyDelta(global, this.acc.delta());
	}
	protected runningSums(): RunningSums {
		return this.acc.snapshot();
	}
	protected mergeSums(sums: RunningSums): void {
		this.acc.merge(sums);
	}
}

class ServerOptimizerStrategy extends BaseStrategy {
	readonly keepsUpdates = false;
	private readonly acc: FedAvgAccumulator;
	private _state: ServerOptimizerState;
	constructor(
		readonly name: ServerOptimizerName,
		length: number,
		private readonly params: ServerOptimizerParams,
		state: ServerOptimizerState | undefined
	) {
		super(length);
		this.acc = new FedAvgAccumulator(length);
		if (state !== undefined) {
			if (state.optimizer !== name) throw new Error(`stored optimiser state is for ${state.optimizer}, not ${name}`);
			if (state.m.length !== length || (state.v !== null && state.v.length !== length)) {
				throw new Error('stored optimiser state does not match the model length');
			}
		}
		this._state = state ?? createServerOptimizerState(name, length, params.tau);
	}
	get state(): ServerOptimizerState {
		return this._state;
	}
	protected fold(u: ClientUpdate): void {
		this.acc.add(u.delta, u.numSamples);
	}
	protected combine(global: Float32Array): Float32Array {
		const step = applyServerOptimizer(global, this.acc.mean(), this._state, this.params);
		this._state = step.state;
		return step.global;
	}
	protected runningSums(): RunningSums {
		return this.acc.snapshot();
	}
	protected mergeSums(sums: RunningSums): void {
		this.acc.merge(sums);
	}
}

class KeptUpdatesStrategy extends BaseStrategy {
	readonly keepsUpdates = true;
	// References, not copies: callers must not reuse a delta's buffer before finish().
	private readonly deltas: Float32Array[] = [];
	constructor(
		readonly name: StrategyName,
		length: number,
		private readonly rule: (deltas: readonly Float32Array[]) => Float32Array
	) {
		super(length);
	}
	protected fold(u: ClientUpdate): void {
		this.deltas.push(u.delta);
	}
	protected combine(global: Float32Array): Float32Array {
		return applyDelta(global, this.rule(this.deltas));
	}
	protected runningSums(): null {
		return null;
	}
	protected mergeSums(): never {
		throw new Error(`${this.name}: keeps every update and cannot merge running sums; add the updates instead`);
	}
}

class PerfFedAvgStrategy extends BaseStrategy {
	readonly name = 'perffedavg';
	readonly keepsUpdates = false;
	private readonly acc: PerfFedAvgAccumulator;
	constructor(length: number, alpha: number) {
		super(length);
		this.acc = new PerfFedAvgAccumulator(length, alpha);
	}
	protected fold(u: ClientUpdate): void {
		if (u.valAccuracy === undefined) throw new Error('perffedavg: update has no validation accuracy');
		this.acc.add(u.delta, u.numSamples, u.valAccuracy);
	}
	protected combine(global: Float32Array): Float32Array {
		return applyDelta(global, this.acc.mean());
	}
	protected runningSums(): RunningSums {
		return this.acc.snapshot();
	}
	protected mergeSums(sums: RunningSums): void {
		this.acc.merge(sums);
	}
}

class DpFedAvgStrategy extends BaseStrategy {
	readonly name = 'dp-fedavg';
	readonly keepsUpdates = false;
	private readonly acc: DpFedAvgAccumulator;
	constructor(
		length: number,
		config: { clipNorm: number; noiseMultiplier: number; expectedClients?: number },
		private readonly gaussian: GaussianSource
	) {
		super(length);
		this.acc = new DpFedAvgAccumulator(length, config);
	}
	protected fold(u: ClientUpdate): void {
		this.acc.add(u.delta);
	}
	protected combine(global: Float32Array): Float32Array {
		return applyDelta(global, this.acc.noisyMean(this.gaussian));
	}
	protected runningSums(): RunningSums {
		return this.acc.snapshot();
	}
	protected mergeSums(sums: RunningSums): void {
		this.acc.merge(sums);
	}
}

/** Builds a strategy for one round; throws with every validation message if the config is bad. */
export function createStrategy(
	config: StrategyConfig,
	length: number,
	state?: ServerOptimizerState,
	options: StrategyOptions = {}
): AggregationStrategy {
	const problems = validateStrategyConfig(config);
	if (problems.length > 0) throw new Error(`invalid ${config.name} config: ${problems.join('; ')}`);
	if (!Number.isInteger(length) || length < 0) throw new Error(`length must be a non-negative integer, got ${length}`);
	const d = SERVER_OPTIMIZER_DEFAULTS;
	switch (config.name) {
		case 'fedavg':
			return new FedAvgStrategy(length);
		case 'fednova':
			return new FedNovaStrategy(length);
		case 'fedavgm':
			return new ServerOptimizerStrategy('fedavgm', length, {
				serverLearningRate: config.serverLearningRate,
				beta1: config.momentum ?? d.momentum,
				beta2: 0,
				tau: 0
			}, state);
		case 'fedadagrad':
			return new ServerOptimizerStrategy('fedadagrad', length, {
				serverLearningRate: config.serverLearningRate,
				beta1: config.beta1 ?? d.beta1,
				beta2: 0,
				tau: config.tau ?? d.tau
			}, state);
		case 'fedadam':
		case 'fedyogi':
			return new ServerOptimizerStrategy(config.name, length, {
				serverLearningRate: config.serverLearningRate,
				beta1: config.beta1 ?? d.beta1,
				beta2: config.beta2 ?? d.beta2,
				tau: config.tau ?? d.tau
			}, state);
		case 'median':
			return new KeptUpdatesStrategy('median', length, coordinateMedian);
		case 'trimmed-mean': {
			const beta = config.trimFraction;
			return new KeptUpdatesStrategy('trimmed-mean', length, (ds) => trimmedMean(ds, beta));
		}
		case 'krum': {
			const f = config.byzantine;
			return new KeptUpdatesStrategy('krum', length, (ds) => multiKrum(ds, f, 1));
		}
		case 'multi-krum': {
			const { byzantine: f, selected: m } = config;
			return new KeptUpdatesStrategy('multi-krum', length, (ds) => multiKrum(ds, f, m));
		}
		case 'perffedavg':
			return new PerfFedAvgStrategy(length, config.alpha);
		case 'dp-fedavg':
			return new DpFedAvgStrategy(length, config, options.gaussian ?? createSecureGaussian());
	}
}
