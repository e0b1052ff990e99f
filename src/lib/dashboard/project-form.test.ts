import { describe, expect, it } from 'vitest';
import { PROJECT_FIELDS, initialValues, validateProject } from './project-form';
import { ProjectConfig } from '@qflare/protocol';

describe('project form', () => {
	it('has a field for every ProjectConfig key', () => {
		expect(PROJECT_FIELDS.map((f) => f.key).sort()).toEqual(Object.keys(ProjectConfig.shape).sort());
	});

	it('accepts the defaults with a name', () => {
		const result = validateProject({ ...initialValues(), name: 'Digits' });
		expect(result).toMatchObject({ ok: true, body: { name: 'Digits', dataset: 'mnist', rounds: 5 } });
	});

	it('reports errors by field', () => {
		const result = validateProject({ ...initialValues(), name: ' ', rounds: 0, batchSize: null });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(Object.keys(result.errors).sort()).toEqual(['batchSize', 'name', 'rounds']);
	});
});
