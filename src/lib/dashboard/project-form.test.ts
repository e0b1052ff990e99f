import { describe, expect, it } from 'vitest';
import {
	PROJECT_FIELDS,
	applyTemplate,
	fieldOptions,
	fittingModel,
	initialValues,
	modelOptions,
	partitionSpec,
	parsePartition,
	secureAggregationInput,
	strategyInput,
	updateEncodingInput,
	validateProject,
	visibleFields
} from './project-form';
import { ProjectConfig } from '@qflare/protocol';
import { taskTemplate, taskText } from './task-templates';

describe('project form', () => {
	it('has an input or a group for every ProjectConfig key', () => {
		const covered = [...PROJECT_FIELDS.map((f) => f.key), 'partition', 'strategy', 'screening', 'task', 'updateEncoding', 'secureAggregation'];
		expect(covered.sort()).toEqual(Object.keys(ProjectConfig.shape).sort());
	});

	it('accepts the defaults with a name', () => {
		const result = validateProject({ ...initialValues(), name: 'Digits' });
		expect(result).toMatchObject({
			ok: true,
			body: { name: 'Digits', dataset: 'mnist', rounds: 5, fraction: 1, partition: 'iid', strategy: { name: 'fedavg' }, dataSource: 'demo', task: null, holdOutFraction: 0.15 }
		});
	});

	it('creates a local project from a template: its task, the model it suggests and a hold-out', () => {
		const values = { ...initialValues(), name: 'Tumours', dataSource: 'local' as const, holdOutFraction: 0.2 };
		applyTemplate(values, 'breast-cancer');
		expect(values.model).toBe('logistic');
		const result = validateProject(values);
		expect(result).toMatchObject({ ok: true, body: { dataSource: 'local', model: 'logistic', holdOutFraction: 0.2, task: taskTemplate('breast-cancer')!.task } });
		if (result.ok && result.body.task?.kind === 'tabular') expect(result.body.task.features).toHaveLength(30);
	});

	it('reports a task that is not JSON, or not a valid schema, under the task editor', () => {
		const values = { ...initialValues(), name: 'x', dataSource: 'local' as const, model: 'logistic' as const };
		values.task.text = '{"kind": "tabular",';
		const notJson = validateProject(values);
		expect(notJson.ok).toBe(false);
		if (!notJson.ok) {
			expect(Object.keys(notJson.errors)).toEqual(['task']);
			expect(notJson.errors.task).toMatch(/^not valid JSON: /);
		}
		values.task.text = JSON.stringify({ kind: 'tabular', features: [{ name: 'a', type: 'numeric' }], target: 'a', objective: { type: 'regression' } });
		const invalid = validateProject(values);
		expect(invalid.ok).toBe(false);
		if (!invalid.ok) expect(invalid.errors.task).toBe('target: target column "a" is also a feature');
	});

	it('offers only the models that fit the data and says so when one does not', () => {
		const values = { ...initialValues(), name: 'x' };
		expect(modelOptions(values)).toEqual(['mlp', 'cnn']);
		values.dataSource = 'local';
		applyTemplate(values, 'co2');
		expect(modelOptions(values)).toEqual(['conv1d', 'gru']);
		expect(fieldOptions(PROJECT_FIELDS.find((f) => f.key === 'model')!, values)).toEqual(['conv1d', 'gru']);
		values.model = 'mlp';
		expect(fittingModel(values)).toBe('conv1d');
		const misfit = validateProject(values);
		expect(misfit.ok).toBe(false);
		if (!misfit.ok) expect(misfit.errors).toEqual({ model: 'a time-series task trains conv1d, gru, not mlp' });
		// An unreadable task leaves every model on offer until it is fixed.
		values.task.text = '{';
		expect(modelOptions(values)).toHaveLength(6);
	});

	it('hides the demo data set and its shards for local data', () => {
		const local = visibleFields({ dataSource: 'local' }).map((f) => f.key);
		expect(local).not.toContain('dataset');
		expect(local).not.toContain('shardCount');
		expect(local).toContain('holdOutFraction');
		expect(visibleFields({ dataSource: 'demo' })).toBe(PROJECT_FIELDS);
	});

	it('keeps the editor text when it was edited, and a demo project ignores it', () => {
		const values = { ...initialValues(), name: 'x' };
		values.task.text = 'not json at all';
		expect(validateProject(values)).toMatchObject({ ok: true, body: { dataSource: 'demo', task: null } });
		expect(taskText(taskTemplate('wine')!.task)).toContain('"od280/od315_of_diluted_wines"');
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
		const values = { ...initialValues(), name: 'x', partition: { kind: 'dirichlet' as const, alpha: 0 as number | null } };
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

	it('sends the update encoding, with the top-k fraction only for top-k', () => {
		const values = { ...initialValues(), name: 'x' };
		expect(values.updateEncoding).toEqual({ kind: 'f32', fraction: 0.1 });
		expect(validateProject(values)).toMatchObject({ ok: true, body: { updateEncoding: { kind: 'f32' } } });
		values.updateEncoding.kind = 'int8';
		expect(updateEncodingInput(values.updateEncoding)).toEqual({ kind: 'int8' });
		values.updateEncoding = { kind: 'top-k', fraction: 0.05 };
		expect(validateProject(values)).toMatchObject({ ok: true, body: { updateEncoding: { kind: 'top-k', fraction: 0.05 } } });
		values.updateEncoding.fraction = 1.5;
		const tooLarge = validateProject(values);
		expect(tooLarge.ok).toBe(false);
		if (!tooLarge.ok) expect(Object.keys(tooLarge.errors)).toEqual(['updateEncoding.fraction']);
		values.updateEncoding.fraction = null;
		const emptied = validateProject(values);
		if (!emptied.ok) expect(emptied.errors['updateEncoding.fraction']).toBe('Required');
		expect(emptied.ok).toBe(false);
	});

	it('sends secure aggregation with its defaults when ticked, and null when not', () => {
		const values = { ...initialValues(), name: 'x', minParticipants: 3 };
		expect(values.secureAggregation).toEqual({ enabled: false, clip: 1, maxSamplesPerClient: 10_000, degree: null });
		expect(validateProject(values)).toMatchObject({ ok: true, body: { secureAggregation: null } });
		values.secureAggregation.enabled = true;
		expect(secureAggregationInput(values.secureAggregation)).toEqual({ clip: 1, maxSamplesPerClient: 10_000, degree: null });
		expect(validateProject(values)).toMatchObject({ ok: true, body: { secureAggregation: { clip: 1, maxSamplesPerClient: 10_000, degree: null } } });
		values.secureAggregation.degree = 1;
		const lowDegree = validateProject(values);
		if (!lowDegree.ok) expect(Object.keys(lowDegree.errors)).toEqual(['secureAggregation.degree']);
		expect(lowDegree.ok).toBe(false);
		values.secureAggregation.degree = null;
		values.secureAggregation.clip = null;
		const emptied = validateProject(values);
		if (!emptied.ok) expect(emptied.errors['secureAggregation.clip']).toBe('Required');
		expect(emptied.ok).toBe(false);
	});

	it('shows the server\'s secure aggregation clashes under each setting and beside the box', () => {
		const values = { ...initialValues(), name: 'x', minParticipants: 2, screening: { maxUpdateNorm: 5, normPolicy: 'reject' as const } };
		values.strategy.name = 'median';
		values.updateEncoding.kind = 'int8';
		values.secureAggregation.enabled = true;
		const result = validateProject(values);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors.minParticipants).toMatch(/at least 3 participants/);
		expect(result.errors.strategy).toMatch(/^median needs each participant's update/);
		expect(result.errors.screening).toMatch(/^per-update norm screening/);
		expect(result.errors.updateEncoding).toBe('secure projects send their fixed-point encoding; int8 cannot be masked (leave it at f32)');
		expect(result.errors.secureAggregation).toBe('Does not work with the devices per round, strategy, update screening, update encoding chosen (see there)');
		// Unticked, the same settings are fine.
		values.secureAggregation.enabled = false;
		expect(validateProject(values).ok).toBe(true);
	});
});
