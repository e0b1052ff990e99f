import { describe, expect, it } from 'vitest';
import type { Round } from '@qflare/protocol';
import { describeSetup, describeStrategy, formatParam } from './strategy-summary';
import { formatDelta, formatEpsilon, formatEpsilonPair, privacySpent } from './privacy-spent';
import { trustView } from './trust-view';
import { committedRound } from './round-fixture';

/** A committed round; `epsilonClassic` undefined stands for a round stored before it was recorded. */
function round(number: number, epsilon: number | null, epsilonClassic?: number): Round {
	return committedRound(number, {
		metrics: { testAccuracy: null, testLoss: null, trainLoss: null, trainAccuracy: null },
		privacy: epsilon === null ? null : { epsilon, ...(epsilonClassic === undefined ? {} : { epsilonClassic }), delta: 1e-5, noiseMultiplier: 1.1, sampleRate: 0.5 }
	});
}

describe('strategy summary', () => {
	it('formats parameters compactly', () => {
		expect(formatParam(0.1 + 0.2)).toBe('0.3');
		expect(formatParam(1e-3)).toBe('0.001');
		expect(formatParam(1e-5)).toBe('1e-5');
		expect(formatParam(2.5e-6)).toBe('2.5e-6');
		expect(formatParam(12345.678)).toBe('12350');
		expect(formatParam(null, 'no limit')).toBe('no limit');
	});

	it('labels each hyperparameter and flags robust strategies', () => {
		const d = describeStrategy({ name: 'multi-krum', byzantine: 1, selected: 3 });
		expect(d.label).toBe('Multi-Krum');
		expect(d.memoryHeavy).toBe(true);
		expect(d.params.map((p) => [p.label, p.value])).toEqual([
			['Attackers f', '1'],
			['Selected m', '3']
		]);
		const dp = describeStrategy({ name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5, targetEpsilon: null });
		expect(dp.memoryHeavy).toBe(false);
		expect(dp.params.at(-1)).toMatchObject({ label: 'Target ε', value: 'no limit' });
	});

	it('describes partition, FedProx and screening', () => {
		const items = describeSetup({
			fraction: 0.5,
			partition: 'dirichlet:0.3',
			proximalMu: 0,
			screening: { maxUpdateNorm: 10, normPolicy: 'clip' },
			updateEncoding: { kind: 'f32' },
			secureAggregation: null
		});
		expect(items.map((i) => i.value)).toEqual(['0.5', 'Dirichlet α = 0.3', 'off', '10 (clip)', 'f32', 'off']);
	});

	it('names the update encoding and secure aggregation', () => {
		const base = { fraction: 1, partition: 'iid', proximalMu: 0, screening: { maxUpdateNorm: null, normPolicy: 'reject' as const } };
		const topK = describeSetup({ ...base, updateEncoding: { kind: 'top-k', fraction: 0.1 }, secureAggregation: null });
		expect(topK.slice(4).map((i) => i.value)).toEqual(['top-k 10%', 'off']);
		const secure = describeSetup({ ...base, updateEncoding: { kind: 'f32' }, secureAggregation: { clip: 0.5, maxSamplesPerClient: 1000, degree: null } });
		expect(secure.slice(4).map((i) => i.value)).toEqual(['fixed point (secure)', 'on (clip ±0.5, degree auto)']);
	});
});

describe('privacy spent', () => {
	const dp = { name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5, targetEpsilon: 8 } as const;

	it('is null for strategies without DP', () => {
		expect(privacySpent({ name: 'fedavg' }, [round(1, null)])).toBeNull();
	});

	it('takes the cumulative epsilon of the latest accounted round', () => {
		const spent = privacySpent(dp, [round(2, 1.5, 1.8), round(1, 0.9, 1.1), round(3, null)]);
		expect(spent).toEqual({ epsilon: 1.5, epsilonClassic: 1.8, target: 8, delta: 1e-5, share: 1.5 / 8, rounds: 2 });
	});

	it('has no classic value for a round stored before it was recorded', () => {
		expect(privacySpent(dp, [round(1, 2.6737)])).toMatchObject({ epsilon: 2.6737, epsilonClassic: null });
	});

	it('starts at zero and caps the share at the target', () => {
		expect(privacySpent(dp, [])).toMatchObject({ epsilon: 0, epsilonClassic: 0, share: 0, rounds: 0 });
		expect(privacySpent(dp, [round(1, 9)])?.share).toBe(1);
		expect(privacySpent({ ...dp, targetEpsilon: null }, [round(1, 2)])?.share).toBeNull();
	});

	it('formats epsilon and delta', () => {
		expect(formatEpsilon(1.2634)).toBe('1.26');
		expect(formatEpsilon(Infinity)).toBe('∞');
		expect(formatEpsilon(null)).toBe('–');
		// q = 0.1, z = 1, delta = 1e-5 after one round: 2.1330 reported, 2.6737 classic.
		expect(formatEpsilonPair({ epsilon: 2.133, epsilonClassic: 2.6737 })).toBe('2.13 (classic 2.67)');
		expect(formatEpsilonPair({ epsilon: 2.6737 })).toBe('2.67');
		expect(formatEpsilonPair({ epsilon: Infinity, epsilonClassic: Infinity })).toBe('∞ (classic ∞)');
		expect(formatEpsilonPair(null)).toBe('–');
		expect(formatDelta(1e-5)).toBe('1e-5');
		expect(formatDelta(2.5e-6)).toBe('2.5e-6');
	});
});

describe('trust view', () => {
	it('shows a device with no screened update as new', () => {
		expect(trustView({ accepted: 0, rejected: 0, meanDistance: 0, score: 0.5 })).toEqual({
			percent: 50,
			level: 'new',
			title: 'No update screened yet'
		});
	});

	it('levels by score and puts the counts in the title', () => {
		const v = trustView({ accepted: 1, rejected: 4, meanDistance: 0.25, score: 2 / 7 / 1.25 });
		expect(v.level).toBe('bad');
		expect(v.percent).toBe(23);
		expect(v.title).toBe('1 accepted · 4 rejected · mean distance to aggregate 0.250');
		expect(trustView({ accepted: 5, rejected: 0, meanDistance: 0.1, score: 0.78 }).level).toBe('ok');
	});
});
