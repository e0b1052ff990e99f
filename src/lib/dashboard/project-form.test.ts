import { describe, expect, it } from 'vitest';
import { PROJECT_FIELDS, initialValues, partitionSpec, parsePartition, strategyInput, validateProject } from './project-form';
import { ProjectConfig } from '@qflare/protocol';

describe('project form', () => {
	it('has an input or a group for every ProjectConfig key', () => {
		const covered = [...PROJECT_FIELDS.map((f) => f.key), 'partition', 'strategy', 'screening'];
		expect(covered.sort()).toEqual(Object.keys(ProjectConfig.shape).sort());
	});

	it('accepts the defaults with a name', () => {
		const result = validateProject({ ...initialValues(), name: 'Digits' });
		expect(result).toMatchObject({
			ok: true,
			body: { name: 'Digits', dataset: 'mnist', rounds: 5, fraction: 1, partition: 'iid', strategy: { name: 'fedavg' } }
		});
	});

	it('reports errors by field', () => {
		const result = validateProject({ ...initialValues(), name: ' ', rounds: 0, batchSize: null });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(Object.keys(result.errors).sort()).toEqual(['batchSize', 'name', 'rounds']);
	});

	it('sends only the selected strategy with its parameters', () => {
		const values = { ...initialValues(), name: 'Robust', minParticipants: 5 };
		values.strategy.name = 'trimmed-mean';
		values.strategy.params['trimmed-mean'].trimFraction = 0.2;
		const result = validateProject(values);
		expect(result).toMatchObject({ ok: true, body: { strategy: { name: 'trimmed-mean', trimFraction: 0.2 } } });
	});

	it('reports a strategy parameter out of range under that parameter', () => {
		const values = { ...initialValues(), name: 'x' };
		values.strategy.name = 'trimmed-mean';
		values.strategy.params['trimmed-mean'].trimFraction = 0.5;
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(Object.keys(result.errors)).toEqual(['strategy.trimFraction']);
	});

	it('reports an emptied strategy parameter as required', () => {
		const values = { ...initialValues(), name: 'x' };
		values.strategy.name = 'fedadam';
		values.strategy.params.fedadam.serverLearningRate = null;
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors['strategy.serverLearningRate']).toBe('Required');
	});

	it('runs the server cross-field check: Krum needs n > 2f + 2', () => {
		const values = { ...initialValues(), name: 'x', minParticipants: 4 };
		values.strategy.name = 'krum';
		values.strategy.params.krum.byzantine = 1;
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors.strategy).toMatch(/Krum needs n > 2f \+ 2/);
		values.minParticipants = 5;
		expect(validateProject(values).ok).toBe(true);
	});

	it('treats an empty target epsilon as no limit', () => {
		const values = { ...initialValues(), name: 'x' };
		values.strategy.name = 'dp-fedavg';
		values.strategy.params['dp-fedavg'].targetEpsilon = null;
		expect(strategyInput(values.strategy)).toEqual({ name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, targetEpsilon: null });
		expect(validateProject(values)).toMatchObject({ ok: true, body: { strategy: { targetEpsilon: null } } });
	});

	it('builds the partition spec from kind and alpha', () => {
		expect(partitionSpec({ kind: 'iid', alpha: 0.5 })).toBe('iid');
		expect(partitionSpec({ kind: 'dirichlet', alpha: 0.3 })).toBe('dirichlet:0.3');
		expect(parsePartition('dirichlet:0.1')).toEqual({ kind: 'dirichlet', alpha: 0.1 });
		const values = { ...initialValues(), name: 'x', partition: { kind: 'dirichlet' as const, alpha: 0 } };
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors.partition).toMatch(/alpha must be > 0/);
		values.partition.alpha = null;
		const emptied = validateProject(values);
		if (!emptied.ok) expect(emptied.errors.partition).toBe('Required');
	});

	it('passes screening through and reports a bad bound under its field', () => {
		const values = { ...initialValues(), name: 'x', screening: { maxUpdateNorm: 5, normPolicy: 'clip' as const } };
		expect(validateProject(values)).toMatchObject({ ok: true, body: { screening: { maxUpdateNorm: 5, normPolicy: 'clip' } } });
		values.screening.maxUpdateNorm = -1;
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(Object.keys(result.errors)).toEqual(['screening.maxUpdateNorm']);
	});
});
