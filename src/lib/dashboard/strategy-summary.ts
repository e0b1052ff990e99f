import type { Project, StrategyConfig } from '@qflare/protocol';
import { keepsUpdates, strategyInfo } from './strategy-catalog';

export interface SummaryItem {
	label: string;
	value: string;
	hint?: string;
}

/**
 * Short, exact-enough numbers: 4 significant digits, no trailing zeros; small values such as
 * delta in the scientific form they are chosen in (1e-5, not 0.00001). null reads as `none`.
 */
export function formatParam(v: number | null | undefined, none = 'none'): string {
	if (v === null || v === undefined) return none;
	if (!Number.isFinite(v)) return String(v);
	const rounded = Number(v.toPrecision(4));
	if (rounded !== 0 && Math.abs(rounded) < 1e-3) return rounded.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
	return String(rounded);
}

/** The strategy's name and each of its hyperparameters, labelled as in the create form. */
export function describeStrategy(config: StrategyConfig): { label: string; summary: string; params: SummaryItem[]; memoryHeavy: boolean } {
	const info = strategyInfo(config.name);
	const values: Record<string, unknown> = config;
	const params = info.params.map((p) => {
		const v = values[p.key];
		return { label: p.label, value: formatParam(typeof v === 'number' ? v : null, p.optional ? 'no limit' : '–'), hint: p.hint };
	});
	return { label: info.label, summary: info.summary, params, memoryHeavy: keepsUpdates(config.name) };
}

/** The rest of the training setup that shapes what the strategy sees. */
export function describeSetup(
	project: Pick<Project, 'fraction' | 'partition' | 'proximalMu' | 'screening' | 'updateEncoding' | 'secureAggregation'>
): SummaryItem[] {
	const partition = project.partition.startsWith('dirichlet:')
		? `Dirichlet α = ${formatParam(Number(project.partition.slice('dirichlet:'.length)))}`
		: 'IID';
	const { maxUpdateNorm, normPolicy } = project.screening;
	const { updateEncoding: encoding, secureAggregation: secure } = project;
	return [
		{ label: 'Fraction', value: formatParam(project.fraction) },
		{ label: 'Partition', value: partition },
		{ label: 'FedProx μ', value: project.proximalMu > 0 ? formatParam(project.proximalMu) : 'off' },
		{ label: 'Update norm bound', value: maxUpdateNorm === null ? 'none' : `${formatParam(maxUpdateNorm)} (${normPolicy})` },
		{
			label: 'Update encoding',
			value: secure ? 'fixed point (secure)' : encoding.kind === 'top-k' ? `top-k ${formatParam(encoding.fraction * 100)}%` : encoding.kind
		},
		{
			label: 'Secure aggregation',
			value: secure ? `on (clip ±${formatParam(secure.clip)}, ${secure.degree === null ? 'degree auto' : `degree ${secure.degree}`})` : 'off',
			hint: secure ? 'The server sees only the sum of each round\'s updates (SecAgg+ with ML-KEM).' : undefined
		}
	];
}
