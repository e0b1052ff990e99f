import type { FederatedEvaluation, ModelRecord, Round } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { evaluationSeries, formatDeviceEvaluation, formatEvaluation, modelCardRows, significant } from './evaluation-view';
import { committedRound } from './round-fixture';

const fed = (over: Partial<FederatedEvaluation>): FederatedEvaluation => ({
	modelVersion: 1,
	devices: 2,
	n: 40,
	loss: 0.35,
	accuracy: null,
	macroF1: null,
	mae: null,
	rmse: null,
	...over
});

const round = committedRound;

describe('evaluationSeries', () => {
	it('plots the federated figures of committed rounds, skipping rounds without them', () => {
		const rounds = [
			round(2, { federatedEvaluation: fed({ accuracy: 0.8, macroF1: 0.75 }), metrics: { testAccuracy: 0.9, testLoss: 0.3, trainLoss: 0.4, trainAccuracy: 0.85 } }),
			round(1, { federatedEvaluation: null, metrics: { testAccuracy: 0.7, testLoss: 0.6, trainLoss: 0.8, trainAccuracy: 0.7 } }),
			round(3, { status: 'training', federatedEvaluation: fed({ accuracy: 0.1 }) })
		];
		expect(evaluationSeries(rounds)).toEqual({
			accuracy: [{ x: 2, y: 0.8 }],
			macroF1: [{ x: 2, y: 0.75 }],
			mae: [],
			rmse: []
		});
		const regression = evaluationSeries([round(1, { federatedEvaluation: fed({ mae: 0.5, rmse: 0.75 }) })]);
		expect(regression).toMatchObject({ mae: [{ x: 1, y: 0.5 }], rmse: [{ x: 1, y: 0.75 }], accuracy: [] });
	});
});

describe('formatEvaluation', () => {
	it('shows the figures the task has', () => {
		expect(formatEvaluation(fed({ accuracy: 0.725, macroF1: 0.7262 }))).toBe('accuracy 72.5% · macro-F1 0.726 · n 40');
		expect(formatEvaluation(fed({ mae: 0.5, rmse: Math.sqrt(0.4) }))).toBe('MAE 0.5 · RMSE 0.6325 · n 40');
		expect(formatEvaluation(null)).toBe('–');
		expect(formatDeviceEvaluation({ ...fed({ accuracy: 0.8, n: 10 }), at: '' })).toBe('accuracy 80.0% · n 10 (v1)');
		expect(formatDeviceEvaluation(null)).toBe('–');
	});

	it('keeps four significant digits of errors in any unit', () => {
		expect(significant(0.00123456)).toBe('0.001235');
		expect(significant(1234.56)).toBe('1235');
		expect(significant(123456.7)).toBe('123457');
		expect(significant(0)).toBe('0');
	});
});

describe('modelCardRows', () => {
	it('lists versions newest first with the round that made them and its federated evaluation', () => {
		const model = (version: number, over: Partial<ModelRecord> = {}): ModelRecord => ({
			id: `m${version}`,
			projectId: 'p',
			version,
			roundNumber: version === 0 ? null : version,
			parameterCount: 10,
			sha256: '',
			testAccuracy: null,
			testLoss: null,
			federatedEvaluation: null,
			membershipAudit: null,
			createdAt: `2025-01-0${version + 1}`,
			...over
		});
		const evaluation = fed({ accuracy: 0.9 });
		const audit = { auc: 0.53, advantage: 0.06, members: 1000, nonMembers: 1000 };
		const rows = modelCardRows([model(0), model(1, { federatedEvaluation: evaluation, membershipAudit: audit })], [round(1, { federatedEvaluation: evaluation })]);
		expect(rows).toEqual([
			{ version: 1, round: 1, parameterCount: 10, testAccuracy: null, trainLoss: 0.5, federated: evaluation, membershipAudit: audit, createdAt: '2025-01-02' },
			{ version: 0, round: null, parameterCount: 10, testAccuracy: null, trainLoss: null, federated: null, membershipAudit: null, createdAt: '2025-01-01' }
		]);
		// A record from a server that predates the audit has no field: no audit.
		const { membershipAudit: _none, ...old } = model(2);
		expect(modelCardRows([old as ModelRecord], [])[0]?.membershipAudit).toBeNull();
	});
});
