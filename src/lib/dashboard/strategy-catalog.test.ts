import { describe, expect, it } from 'vitest';
import { STRATEGIES_KEEPING_UPDATES, StrategyConfig } from '@qflare/protocol';
import { STRATEGY_NAMES } from '@qflare/fl';
import { STRATEGY_CATALOG, STRATEGY_LIST, keepsUpdates, strategyDefaults } from './strategy-catalog';

describe('strategy catalog', () => {
	it('lists every strategy of the schema once', () => {
		expect(STRATEGY_LIST.map((s) => s.name).sort()).toEqual([...STRATEGY_NAMES].sort());
		expect(STRATEGY_LIST.map((s) => s.name).sort()).toEqual(StrategyConfig.options.map((o) => o.shape.name.value).sort());
	});

	it('offers exactly the hyperparameters the schema has for each strategy', () => {
		for (const option of StrategyConfig.options) {
			const name = option.shape.name.value;
			const schemaKeys = Object.keys(option.shape).filter((k) => k !== 'name');
			expect(STRATEGY_CATALOG[name].params.map((p) => p.key).sort(), name).toEqual(schemaKeys.sort());
		}
	});

	it('starts every strategy from a valid config, with the schema defaults filled in', () => {
		for (const s of STRATEGY_LIST) expect(() => StrategyConfig.parse(strategyDefaults(s.name)), s.name).not.toThrow();
		expect(strategyDefaults('fedadam')).toEqual({ name: 'fedadam', serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
		expect(strategyDefaults('fedavgm')).toEqual({ name: 'fedavgm', serverLearningRate: 1, momentum: 0.9 });
		expect(strategyDefaults('dp-fedavg')).toEqual({ name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, targetEpsilon: null });
	});

	it('flags the strategies that keep every update', () => {
		expect(STRATEGY_LIST.filter((s) => keepsUpdates(s.name)).map((s) => s.name)).toEqual([...STRATEGIES_KEEPING_UPDATES]);
	});

	it('explains f for Krum', () => {
		expect(STRATEGY_CATALOG.krum.params[0].hint).toMatch(/2f \+ 3/);
	});
});
