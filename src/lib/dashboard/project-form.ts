import { validateStrategyConfig } from '@qflare/fl';
import {
	CreateProjectBody,
	DatasetName,
	ModelName,
	PROJECT_DEFAULTS,
	type ProjectConfig,
	type StrategyName,
	type UpdateScreening
} from '@qflare/protocol';
import { STRATEGY_LIST, strategyDefaults, strategyInfo } from './strategy-catalog';

/** Config fields with their own group in the form (not a single input each). */
type GroupedKey = 'partition' | 'strategy' | 'screening';
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
};

/** Where an error shows: a field, a strategy or screening parameter, or the form as a whole. */
export type ErrorKey = FieldKey | GroupedKey | `strategy.${string}` | `screening.${string}` | 'form';
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
	const { partition, strategy, screening, ...flat } = PROJECT_DEFAULTS;
	const params = Object.fromEntries(STRATEGY_LIST.map((s) => [s.name, paramValues(strategyDefaults(s.name))])) as Record<
		StrategyName,
		StrategyParamValues
	>;
	params[strategy.name] = { ...params[strategy.name], ...paramValues(strategy) };
	return {
		name: '',
		...flat,
		partition: parsePartition(partition),
		strategy: { name: strategy.name, params },
		screening: { ...screening }
	};
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
	return keys;
}

function errorKey(path: readonly PropertyKey[]): ErrorKey {
	const [head, sub] = path;
	if (head === 'strategy' || head === 'screening') return typeof sub === 'string' && sub !== 'name' ? `${head}.${sub}` : head;
	return typeof head === 'string' ? (head as ErrorKey) : 'form';
}

export type ValidationResult = { ok: true; body: ProjectConfig } | { ok: false; errors: FormErrors };

/** Checks the form with the server's own schema and cross-field rules, so both sides agree. */
export function validateProject(values: ProjectFormValues): ValidationResult {
	const flat = Object.fromEntries(PROJECT_FIELDS.map((f) => [f.key, values[f.key] ?? undefined]));
	const input = {
		...flat,
		partition: partitionSpec(values.partition),
		strategy: strategyInput(values.strategy),
		screening: { ...values.screening }
	};
	const errors: FormErrors = {};
	for (const key of emptiedKeys(values)) errors[key] = 'Required';
	const parsed = CreateProjectBody.safeParse(input);
	if (!parsed.success) {
		for (const issue of parsed.error.issues) errors[errorKey(issue.path)] ??= issue.message;
		return { ok: false, errors };
	}
	// The same check the server runs after the schema (e.g. Krum needs n > 2f + 2).
	const problems = validateStrategyConfig(parsed.data.strategy, { clients: parsed.data.minParticipants });
	if (problems.length > 0) errors.strategy ??= problems.join('; ');
	if (Object.keys(errors).length > 0) return { ok: false, errors };
	return { ok: true, body: parsed.data };
}
