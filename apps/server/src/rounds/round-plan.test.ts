import { PROJECT_DEFAULTS, type Project } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { clientPlan, PERFFEDAVG_VALIDATION_FRACTION, selectDevices } from './round-plan';

const project = (over: Partial<Project>): Project => ({
	...PROJECT_DEFAULTS,
	name: 'p',
	id: 'p',
	organisationId: 'org',
	status: 'running',
	modelVersion: 0,
	currentRound: 1,
	standardization: null,
	createdAt: '',
	updatedAt: '',
	...over
});

describe('selectDevices', () => {
	const ready = ['d5', 'd1', 'd4', 'd2', 'd3', 'd6', 'd7', 'd8', 'd9', 'd0'];

	it('takes everyone at fraction 1 and a seeded share otherwise, never below the minimum', () => {
		expect(selectDevices(ready, project({ fraction: 1 }), 1)).toEqual([...ready].sort());
		const quarter = selectDevices(ready, project({ fraction: 0.25, minParticipants: 2, seed: 3 }), 1);
		expect(quarter).toHaveLength(3);
		expect(new Set(quarter).size).toBe(3);
		expect(selectDevices([...ready].reverse(), project({ fraction: 0.25, minParticipants: 2, seed: 3 }), 1)).toEqual(quarter);
		expect(selectDevices(ready, project({ fraction: 0.1, minParticipants: 4 }), 1)).toHaveLength(4);
	});

	it('changes the sample from round to round', () => {
		const p = project({ fraction: 0.3, minParticipants: 1, seed: 1 });
		const samples = new Set([1, 2, 3, 4, 5].map((r) => selectDevices(ready, p, r).join()));
		expect(samples.size).toBeGreaterThan(1);
	});
});

describe('clientPlan', () => {
	it('carries the local hyperparameters and what the strategy asks of clients', () => {
		expect(clientPlan(project({ proximalMu: 0.01 }))).toEqual({
			localEpochs: 1,
			batchSize: 10,
			learningRate: 0.1,
			proximalMu: 0.01,
			clipNorm: null,
			validationFraction: 0
		});
		const dp = project({ strategy: { name: 'dp-fedavg', clipNorm: 0.5, noiseMultiplier: 1, delta: 1e-5, targetEpsilon: null } });
		expect(clientPlan(dp).clipNorm).toBe(0.5);
		expect(clientPlan(project({ strategy: { name: 'perffedavg', alpha: 0.5 } })).validationFraction).toBe(PERFFEDAVG_VALIDATION_FRACTION);
	});
});
