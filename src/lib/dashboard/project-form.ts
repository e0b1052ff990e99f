import { CreateProjectBody, DatasetName, ModelName, PROJECT_DEFAULTS, type ProjectConfig } from '@qflare/protocol';

export type FieldKey = keyof ProjectConfig;

interface NumberField {
	key: FieldKey;
	label: string;
	kind: 'number';
	step: string;
	min?: number;
	hint?: string;
}
interface ChoiceField {
	key: FieldKey;
	label: string;
	kind: 'choice';
	options: readonly string[];
	hint?: string;
}
interface TextField {
	key: FieldKey;
	label: string;
	kind: 'text';
	hint?: string;
}
export type FormField = NumberField | ChoiceField | TextField;

/** Every ProjectConfig field, in the order the form shows them. */
export const PROJECT_FIELDS: FormField[] = [
	{ key: 'name', label: 'Name', kind: 'text' },
	{ key: 'dataset', label: 'Dataset', kind: 'choice', options: DatasetName.options },
	{ key: 'model', label: 'Model', kind: 'choice', options: ModelName.options, hint: 'cnn needs WebGL or WebGPU to train' },
	{ key: 'rounds', label: 'Rounds', kind: 'number', step: '1', min: 1 },
	{ key: 'minParticipants', label: 'Devices per round', kind: 'number', step: '1', min: 1 },
	{ key: 'shardCount', label: 'Data shards', kind: 'number', step: '1', min: 1 },
	{ key: 'localEpochs', label: 'Local epochs', kind: 'number', step: '1', min: 1 },
	{ key: 'batchSize', label: 'Batch size', kind: 'number', step: '1', min: 1 },
	{ key: 'learningRate', label: 'Learning rate', kind: 'number', step: 'any' },
	{ key: 'roundTimeoutSec', label: 'Round timeout (s)', kind: 'number', step: '1', min: 5 },
	{ key: 'seed', label: 'Seed', kind: 'number', step: '1', min: 0 }
];

/** Form values: numbers may be null while an input is empty. */
export type ProjectFormValues = { [K in FieldKey]: ProjectConfig[K] | (ProjectConfig[K] extends number ? null : never) };

export function initialValues(): ProjectFormValues {
	return { name: '', ...PROJECT_DEFAULTS };
}

export type ValidationResult =
	| { ok: true; body: ProjectConfig }
	| { ok: false; errors: Partial<Record<FieldKey | 'form', string>> };

/** Checks the form with the server's own schema, so both sides agree on what is valid. */
export function validateProject(values: ProjectFormValues): ValidationResult {
	const input = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === null ? undefined : v]));
	// An emptied number field must be reported, not silently replaced by its default.
	const emptied = Object.entries(values).filter(([, v]) => v === null).map(([k]) => k as FieldKey);
	const parsed = CreateProjectBody.safeParse(input);
	const errors: Partial<Record<FieldKey | 'form', string>> = {};
	for (const key of emptied) errors[key] = 'Required';
	if (!parsed.success) {
		for (const issue of parsed.error.issues) {
			const key = (issue.path[0] as FieldKey | undefined) ?? 'form';
			errors[key] ??= issue.message;
		}
	}
	if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
	return { ok: true, body: parsed.data };
}
