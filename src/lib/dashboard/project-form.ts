import { validateStrategyConfig } from '@qflare/fl';
import {
	CreateProjectBody,
	DataSource,
	DatasetName,
	DEMO_MODELS,
	ModelName,
	MODELS_FOR_TASK,
	PROJECT_DEFAULTS,
	type ProjectConfig,
	type StrategyName,
	type UpdateEncoding,
	type UpdateScreening
} from '@qflare/protocol';
import { STRATEGY_LIST, strategyDefaults, strategyInfo } from './strategy-catalog';
import { parseTaskText, TASK_TEMPLATES, taskTemplate, taskText } from './task-templates';

/** Config fields with their own group in the form (not a single input each). */
type GroupedKey = 'partition' | 'strategy' | 'screening' | 'task' | 'updateEncoding' | 'secureAggregation';
type FlatConfig = Omit<ProjectConfig, GroupedKey>;
export type FieldKey = keyof FlatConfig;

interface NumberField {
	key: FieldKey;
	label: string;
	kind: 'number';
	step: string;
	min?: number;
	max?: number;
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

/** Every ProjectConfig field that is one input, in the order the form shows them. */
export const PROJECT_FIELDS: FormField[] = [
	{ key: 'name', label: 'Name', kind: 'text' },
	{ key: 'dataSource', label: 'Data source', kind: 'choice', options: DataSource.options, hint: 'demo: shards of a packaged data set; local: each device brings its own files' },
	{ key: 'dataset', label: 'Dataset', kind: 'choice', options: DatasetName.options },
	{ key: 'model', label: 'Model', kind: 'choice', options: ModelName.options, hint: 'cnn needs WebGL or WebGPU to train' },
	{ key: 'rounds', label: 'Rounds', kind: 'number', step: '1', min: 1 },
	{ key: 'minParticipants', label: 'Devices per round', kind: 'number', step: '1', min: 1 },
	{ key: 'fraction', label: 'Fraction', kind: 'number', step: 'any', min: 0, max: 1, hint: 'Share of ready devices picked per round, in (0, 1]' },
	{ key: 'shardCount', label: 'Data shards', kind: 'number', step: '1', min: 1 },
	{ key: 'localEpochs', label: 'Local epochs', kind: 'number', step: '1', min: 1 },
	{ key: 'batchSize', label: 'Batch size', kind: 'number', step: '1', min: 1 },
	{ key: 'learningRate', label: 'Learning rate', kind: 'number', step: 'any' },
	{
		key: 'proximalMu',
		label: 'FedProx μ',
		kind: 'number',
		step: 'any',
		min: 0,
		hint: 'Pulls local training toward the global model; 0 = off'
	},
	{ key: 'roundTimeoutSec', label: 'Round timeout (s)', kind: 'number', step: '1', min: 5 },
	{
		key: 'holdOutFraction',
		label: 'Hold-out fraction',
		kind: 'number',
		step: 'any',
		min: 0,
		max: 0.5,
		hint: 'Share of each device\'s data kept back to evaluate the global model; 0 = no federated evaluation'
	},
	{ key: 'seed', label: 'Seed', kind: 'number', step: '1', min: 0 }
];

type Nullable<T> = T | (T extends number ? null : never);

export type PartitionKind = 'iid' | 'dirichlet';
/** A Dirichlet alpha commonly used for moderate label skew in the FL literature. */
export const DEFAULT_DIRICHLET_ALPHA = 0.5;

/** Strategy parameters as typed; null while an input is empty. */
export type StrategyParamValues = Record<string, number | null>;

/** Form values: numbers may be null while an input is empty. */
export type ProjectFormValues = { [K in FieldKey]: Nullable<FlatConfig[K]> } & {
	partition: { kind: PartitionKind; alpha: number | null };
	/** Parameters are kept for every strategy, so switching back and forth keeps edits. */
	strategy: { name: StrategyName; params: Record<StrategyName, StrategyParamValues> };
	screening: { maxUpdateNorm: number | null; normPolicy: UpdateScreening['normPolicy'] };
	/** Local data: the task schema as JSON text, and the template it started from ('custom' once edited away). */
	task: { template: string; text: string };
	/** The top-k fraction is kept while another kind is chosen, so switching back keeps the edit. */
	updateEncoding: { kind: UpdateEncoding['kind']; fraction: number | null };
	/** Settings are kept while the box is unchecked; degree null = auto. */
	secureAggregation: { enabled: boolean; clip: number | null; maxSamplesPerClient: number | null; degree: number | null };
};

/** The encodings offered, with what each costs on the wire (per value of the delta). */
export const UPDATE_ENCODINGS: readonly { kind: UpdateEncoding['kind']; label: string }[] = [
	{ kind: 'f32', label: 'float32 (4 bytes per value)' },
	{ kind: 'f16', label: 'float16 (2 bytes)' },
	{ kind: 'int8', label: 'int8, per-tensor scale (1 byte)' },
	{ kind: 'top-k', label: 'top-k sparse with error feedback' }
];
export const DEFAULT_TOP_K_FRACTION = 0.1;
/** Secure aggregation's starting settings: coordinates clipped to [-1, 1], up to 10 000 samples per client. */
export const SECURE_AGGREGATION_DEFAULTS = { clip: 1, maxSamplesPerClient: 10_000, degree: null } as const;

/** Fields a local-data project ignores (its devices bring their own data). */
const DEMO_ONLY: readonly FieldKey[] = ['dataset', 'shardCount'];

/** The inputs to show: demo-only ones are hidden for local data. */
export function visibleFields(values: Pick<ProjectFormValues, 'dataSource'>): FormField[] {
	return values.dataSource === 'local' ? PROJECT_FIELDS.filter((f) => !DEMO_ONLY.includes(f.key)) : PROJECT_FIELDS;
}

/** Models that fit: the two demo models, or those for the kind of task the editor holds. */
export function modelOptions(values: Pick<ProjectFormValues, 'dataSource' | 'task'>): readonly ModelName[] {
	if (values.dataSource !== 'local') return DEMO_MODELS;
	const parsed = parseTaskText(values.task.text);
	return parsed.ok ? MODELS_FOR_TASK[parsed.task.kind] : ModelName.options;
}

/** Options of a choice field for the current values (the model list follows the task). */
export function fieldOptions(field: FormField, values: Pick<ProjectFormValues, 'dataSource' | 'task'>): readonly string[] {
	if (field.kind !== 'choice') return [];
	return field.key === 'model' ? modelOptions(values) : field.options;
}

/** Fills the editor from a template and picks the model it suggests. */
export function applyTemplate(values: ProjectFormValues, id: string): void {
	const template = taskTemplate(id);
	if (!template) return;
	values.task = { template: id, text: taskText(template.task) };
	values.model = template.model;
}

/** Keeps the model one that fits after the data source or the task changed. */
export function fittingModel(values: Pick<ProjectFormValues, 'dataSource' | 'task' | 'model'>): ProjectFormValues['model'] {
	const options = modelOptions(values);
	return values.model !== null && options.includes(values.model) ? values.model : options[0];
}

/** Where an error shows: a field, a strategy or screening parameter, or the form as a whole. */
export type ErrorKey =
	| FieldKey
	| GroupedKey
	| `${'strategy' | 'screening' | 'updateEncoding' | 'secureAggregation'}.${string}`
	| 'form';
export type FormErrors = Partial<Record<ErrorKey, string>>;

function paramValues(config: object): StrategyParamValues {
	const out: StrategyParamValues = {};
	for (const [k, v] of Object.entries(config)) if (k !== 'name' && (typeof v === 'number' || v === null)) out[k] = v;
	return out;
}

export function parsePartition(spec: string): { kind: PartitionKind; alpha: number | null } {
	if (spec.startsWith('dirichlet:')) return { kind: 'dirichlet', alpha: Number(spec.slice('dirichlet:'.length)) };
	return { kind: 'iid', alpha: DEFAULT_DIRICHLET_ALPHA };
}

export function partitionSpec(partition: ProjectFormValues['partition']): string {
	return partition.kind === 'iid' ? 'iid' : `dirichlet:${partition.alpha ?? ''}`;
}

export function initialValues(): ProjectFormValues {
	const { partition, strategy, screening, updateEncoding, secureAggregation, ...flat } = PROJECT_DEFAULTS;
	const params = Object.fromEntries(STRATEGY_LIST.map((s) => [s.name, paramValues(strategyDefaults(s.name))])) as Record<
		StrategyName,
		StrategyParamValues
	>;
	params[strategy.name] = { ...params[strategy.name], ...paramValues(strategy) };
	const template = TASK_TEMPLATES[0];
	return {
		name: '',
		...flat,
		partition: parsePartition(partition),
		strategy: { name: strategy.name, params },
		screening: { ...screening },
		task: { template: template.id, text: taskText(template.task) },
		updateEncoding: { kind: updateEncoding.kind, fraction: updateEncoding.kind === 'top-k' ? updateEncoding.fraction : DEFAULT_TOP_K_FRACTION },
		secureAggregation: { enabled: secureAggregation !== null, ...(secureAggregation ?? SECURE_AGGREGATION_DEFAULTS) }
	};
}

/** The encoding as the API expects it (the fraction only for top-k). */
export function updateEncodingInput(encoding: ProjectFormValues['updateEncoding']): Record<string, unknown> {
	return encoding.kind === 'top-k' ? { kind: 'top-k', fraction: encoding.fraction } : { kind: encoding.kind };
}

/** Secure aggregation as the API expects it: null when off; an empty degree means auto. */
export function secureAggregationInput(secure: ProjectFormValues['secureAggregation']): Record<string, unknown> | null {
	if (!secure.enabled) return null;
	return { clip: secure.clip, maxSamplesPerClient: secure.maxSamplesPerClient, degree: secure.degree };
}

/** The selected strategy as the API expects it; emptied optional parameters become null. */
export function strategyInput(strategy: ProjectFormValues['strategy']): Record<string, unknown> {
	const info = strategyInfo(strategy.name);
	const values = strategy.params[strategy.name] ?? {};
	const out: Record<string, unknown> = { name: strategy.name };
	for (const param of info.params) {
		const v = values[param.key];
		if (v !== null && v !== undefined) out[param.key] = v;
		else if (param.optional) out[param.key] = null;
	}
	return out;
}

/** Inputs left empty that must not be: reported as "Required", never replaced by defaults. */
function emptiedKeys(values: ProjectFormValues): ErrorKey[] {
	const keys: ErrorKey[] = PROJECT_FIELDS.filter((f) => values[f.key] === null).map((f) => f.key);
	if (values.partition.kind === 'dirichlet' && values.partition.alpha === null) keys.push('partition');
	const current = values.strategy.params[values.strategy.name] ?? {};
	for (const param of strategyInfo(values.strategy.name).params) {
		if (!param.optional && (current[param.key] === null || current[param.key] === undefined)) keys.push(`strategy.${param.key}`);
	}
	if (values.updateEncoding.kind === 'top-k' && values.updateEncoding.fraction === null) keys.push('updateEncoding.fraction');
	if (values.secureAggregation.enabled) {
		if (values.secureAggregation.clip === null) keys.push('secureAggregation.clip');
		if (values.secureAggregation.maxSamplesPerClient === null) keys.push('secureAggregation.maxSamplesPerClient');
	}
	return keys;
}

function errorKey(path: readonly PropertyKey[]): ErrorKey {
	const [head, sub] = path;
	if (head === 'strategy' || head === 'screening' || head === 'updateEncoding' || head === 'secureAggregation') {
		return typeof sub === 'string' && sub !== 'name' && sub !== 'kind' ? `${head}.${sub}` : head;
	}
	return typeof head === 'string' ? (head as ErrorKey) : 'form';
}

/** Settings secureAggregationProblems names when they do not work with secure aggregation. */
const SECURE_CLASHES: Readonly<Record<string, string>> = {
	minParticipants: 'devices per round',
	strategy: 'strategy',
	screening: 'update screening',
	updateEncoding: 'update encoding'
};

export type ValidationResult = { ok: true; body: ProjectConfig } | { ok: false; errors: FormErrors };

/** Checks the form with the server's own schema and cross-field rules, so both sides agree. */
export function validateProject(values: ProjectFormValues): ValidationResult {
	const flat = Object.fromEntries(PROJECT_FIELDS.map((f) => [f.key, values[f.key] ?? undefined]));
	const errors: FormErrors = {};
	for (const key of emptiedKeys(values)) errors[key] = 'Required';
	let task: ProjectConfig['task'] = null;
	if (values.dataSource === 'local') {
		const parsedTask = parseTaskText(values.task.text);
		if (parsedTask.ok) task = parsedTask.task;
		else errors.task = parsedTask.error;
	}
	const input = {
		...flat,
		partition: partitionSpec(values.partition),
		strategy: strategyInput(values.strategy),
		screening: { ...values.screening },
		task,
		updateEncoding: updateEncodingInput(values.updateEncoding),
		secureAggregation: secureAggregationInput(values.secureAggregation)
	};
	const parsed = CreateProjectBody.safeParse(input);
	if (!parsed.success) {
		const clashes: string[] = [];
		for (const issue of parsed.error.issues) {
			// Cross-field problems come without a path and name their field first ("model: ...");
			// those of secure aggregation name the setting it cannot work with.
			const named = issue.path.length === 0 ? /^(task|model|minParticipants|strategy|screening|updateEncoding): (.*)$/s.exec(issue.message) : null;
			if (named) errors[named[1] as ErrorKey] ??= named[2];
			else errors[errorKey(issue.path)] ??= issue.message;
			if (named && values.secureAggregation.enabled && SECURE_CLASHES[named[1]]) clashes.push(SECURE_CLASHES[named[1]]);
		}
		// The box just ticked is what the settings above clash with: say so beside it too.
		if (clashes.length > 0) errors.secureAggregation ??= `Does not work with the ${clashes.join(', ')} chosen (see there)`;
		return { ok: false, errors };
	}
	if (errors.task) return { ok: false, errors };
	// The same check the server runs after the schema (e.g. Krum needs n > 2f + 2).
	const problems = validateStrategyConfig(parsed.data.strategy, { clients: parsed.data.minParticipants });
	if (problems.length > 0) errors.strategy ??= problems.join('; ');
	if (Object.keys(errors).length > 0) return { ok: false, errors };
	return { ok: true, body: parsed.data };
}
