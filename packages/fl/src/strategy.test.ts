import { describe, expect, it } from 'vitest';
import { FedNovaAccumulator } from './fednova';
import { perfFedAvgWeights } from './perffedavg';
import { STRATEGY_NAMES, createStrategy, validateStrategyConfig, type StrategyConfig } from './strategy';

const f32 = (...xs: number[]) => Float32Array.from(xs);

const validConfigs: StrategyConfig[] = [
	{ name: 'fedavg' },
	{ name: 'fednova' },
	{ name: 'fedavgm', serverLearningRate: 1, momentum: 0.9 },
	{ name: 'fedadagrad', serverLearningRate: 0.1 },
	{ name: 'fedadam', serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
	{ name: 'fedyogi', serverLearningRate: 0.01 },
	{ name: 'median' },
	{ name: 'trimmed-mean', trimFraction: 0.1 },
	{ name: 'krum', byzantine: 1 },
	{ name: 'multi-krum', byzantine: 1, selected: 2 },
	{ name: 'perffedavg', alpha: 0.5 },
	{ name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1, expectedClients: 10 }
];

describe('FedAvg strategy', () => {
	it('adds the sample-weighted mean delta to the global weights', () => {
		const s = createStrategy({ name: 'fedavg' }, 2);
		s.add({ delta: f32(4, 0), numSamples: 1 });
		s.add({ delta: f32(0, 8), numSamples: 3 });
		expect(s.count).toBe(2);
		expect(Array.from(s.finish(f32(1, -1)))).toEqual([2, 5]);
	});
});

describe('FedNova strategy', () => {
	it('normalises by local steps and rescales by the sample-weighted mean steps', () => {
		// p = [0.25, 0.75]; deltas / steps = [1, 2] and [1, -1]; sum p d = [1, -0.25];
		// tau_eff = 0.25*2 + 0.75*3 = 2.75; update = [2.75, -0.6875]. (FedAvg would give [2.75, -1.25].)
		const s = createStrategy({ name: 'fednova' }, 2);
		s.add({ delta: f32(2, 4), numSamples: 10, steps: 2 });
		s.add({ delta: f32(3, -3), numSamples: 30, steps: 3 });
		expect(Array.from(s.finish(f32(0, 0)))).toEqual([2.75, -0.6875]);
	});

	it('equals FedAvg when every client ran the same number of steps', () => {
		const acc = new FedNovaAccumulator(2);
		acc.add(f32(2, 4), 10, 4);
		acc.add(f32(3, -3), 30, 4);
		expect(Array.from(acc.delta())).toEqual([2.75, -1.25]);
	});

	it('refuses an update without a step count', () => {
		const s = createStrategy({ name: 'fednova' }, 1);
		expect(() => s.add({ delta: f32(1), numSamples: 1 })).toThrow(/step/);
	});
});

describe('PerfFedAvg strategy', () => {
	// alpha 0.25; n = [10, 30], acc = [0.75, 0.25]:
	// w_A = 0.25*0.25 + 0.75*0.75 = 0.625, w_B = 0.25*0.75 + 0.75*0.25 = 0.375.
	it('weights by alpha * sample share + (1 - alpha) * accuracy share', () => {
		const clients = [
			{ numSamples: 10, valAccuracy: 0.75 },
			{ numSamples: 30, valAccuracy: 0.25 }
		];
		expect(perfFedAvgWeights(clients, 0.25)).toEqual([0.625, 0.375]);
		const s = createStrategy({ name: 'perffedavg', alpha: 0.25 }, 2);
		s.add({ delta: f32(1, 0), ...clients[0] });
		s.add({ delta: f32(0, 1), ...clients[1] });
		expect(Array.from(s.finish(f32(0, 0)))).toEqual([0.625, 0.375]);
	});

	it('with alpha 1 is FedAvg, and needs a validation accuracy', () => {
		const s = createStrategy({ name: 'perffedavg', alpha: 1 }, 2);
		s.add({ delta: f32(1, 0), numSamples: 10, valAccuracy: 0.9 });
		s.add({ delta: f32(0, 1), numSamples: 30, valAccuracy: 0.1 });
		expect(Array.from(s.finish(f32(0, 0)))).toEqual([0.25, 0.75]);
		expect(() => createStrategy({ name: 'perffedavg', alpha: 0.5 }, 1).add({ delta: f32(1), numSamples: 1 })).toThrow(/accuracy/);
	});
});

describe('DP-FedAvg strategy', () => {
	const fixedGaussian = (values: number[]) => {
		let i = 0;
		return () => values[i++];
	};

	it('adds N(0, (zC)^2) to the sum of clipped deltas, then divides by the expected clients', () => {
		// C = 10 (no clipping here), z = 0.5: noise std 5; draws [0.5, -1] -> noise [2.5, -5].
		// sum [4, 0] + noise = [6.5, -5]; / 4 expected clients = [1.625, -1.25].
		const s = createStrategy({ name: 'dp-fedavg', clipNorm: 10, noiseMultiplier: 0.5, expectedClients: 4 }, 2, undefined, {
			gaussian: fixedGaussian([0.5, -1])
		});
		s.add({ delta: f32(1, 2), numSamples: 100 });
		s.add({ delta: f32(3, -2), numSamples: 1 });
		expect(Array.from(s.finish(f32(0, 0)))).toEqual([1.625, -1.25]);
	});

	it('divides by the actual count when no expected count is set, with equal weight per client', () => {
		const s = createStrategy({ name: 'dp-fedavg', clipNorm: 10, noiseMultiplier: 0.5 }, 2, undefined, {
			gaussian: fixedGaussian([0.5, -1])
		});
		s.add({ delta: f32(1, 2), numSamples: 100 });
		s.add({ delta: f32(3, -2), numSamples: 1 });
		expect(Array.from(s.finish(f32(1, 1)))).toEqual([4.25, -1.5]);
	});

	it('clips on the server too: an unclipped [30, 40] counts as norm C', () => {
		// C = 1: [30, 40] -> [0.6, 0.8]; z = 0 so no noise; / 1 client.
		const s = createStrategy({ name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 0 }, 2, undefined, { gaussian: () => 0 });
		s.add({ delta: f32(30, 40), numSamples: 1 });
		const next = s.finish(f32(0, 0));
		expect(next[0]).toBeCloseTo(0.6, 6);
		expect(next[1]).toBeCloseTo(0.8, 6);
	});
});

describe('validateStrategyConfig', () => {
	it('accepts a valid config of every strategy', () => {
		expect(validConfigs.map((c) => c.name).sort()).toEqual([...STRATEGY_NAMES].sort());
		for (const c of validConfigs) expect(validateStrategyConfig(c, { clients: 5 })).toEqual([]);
	});

	it('explains bad hyperparameters', () => {
		expect(validateStrategyConfig({ name: 'trimmed-mean', trimFraction: 0.5 })).toEqual(['trim fraction must be in [0, 0.5), got 0.5']);
		expect(validateStrategyConfig({ name: 'krum', byzantine: 1 }, { clients: 4 })).toEqual([
			'Krum needs n > 2f + 2 clients: n = 4, f = 1 needs at least 5'
		]);
		expect(validateStrategyConfig({ name: 'multi-krum', byzantine: 1, selected: 5 }, { clients: 5 })).toEqual([
			'Multi-Krum selects at most n - f updates: m = 5, n - f = 4'
		]);
		expect(validateStrategyConfig({ name: 'multi-krum', byzantine: 1.5, selected: 0 })).toHaveLength(2);
		expect(validateStrategyConfig({ name: 'fedadam', serverLearningRate: 0, beta2: 1 })).toEqual([
			'serverLearningRate must be a positive number, got 0',
			'beta2 must be in [0, 1), got 1'
		]);
		expect(validateStrategyConfig({ name: 'perffedavg', alpha: 1.5 })).toEqual(['alpha must be in [0, 1], got 1.5']);
		expect(validateStrategyConfig({ name: 'dp-fedavg', clipNorm: -1, noiseMultiplier: Number.NaN })).toHaveLength(2);
		const unknown = JSON.parse('{"name":"fedsgd"}') as StrategyConfig;
		expect(validateStrategyConfig(unknown)[0]).toMatch(/unknown strategy fedsgd/);
	});
});

describe('createStrategy', () => {
	it('says which strategies keep the round\'s updates', () => {
		const keeps = validConfigs.filter((c) => createStrategy(c, 1).keepsUpdates).map((c) => c.name);
		expect(keeps).toEqual(['median', 'trimmed-mean', 'krum', 'multi-krum']);
	});

	it('throws on an invalid config, on an empty round, and on a second finish', () => {
		expect(() => createStrategy({ name: 'trimmed-mean', trimFraction: 0.7 }, 2)).toThrow(/trim fraction/);
		const s = createStrategy({ name: 'median' }, 1);
		expect(() => s.finish(f32(0))).toThrow(/no updates/);
		s.add({ delta: f32(1), numSamples: 1 });
		expect(Array.from(s.finish(f32(0)))).toEqual([1]);
		expect(() => s.finish(f32(0))).toThrow(/already/);
		expect(() => s.add({ delta: f32(1), numSamples: 1 })).toThrow(/already/);
	});
});
