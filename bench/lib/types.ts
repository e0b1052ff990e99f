import type { MachineInfo, Summary } from './stats';

/** One line of the printed table: a figure next to its baseline from the same run. */
export interface TableRow {
	figure: string;
	value: string;
	baseline: string;
	/** measured / baseline, or null where there is no baseline to divide by. */
	ratio: number | null;
}

export interface SectionResult {
	section: string;
	/** One sentence: what was measured and how. */
	method: string;
	rows: TableRow[];
	/** Things that could not be measured, and why. */
	notMeasured: string[];
	data: Record<string, unknown>;
}

export interface SectionContext {
	quick: boolean;
	machine: MachineInfo;
	/** Results of sections that already ran in this invocation (post-quantum reads a round time). */
	earlier: Map<string, SectionResult>;
	log(message: string): void;
}

export type Section = (ctx: SectionContext) => Promise<SectionResult>;

export function fmtSummary(s: Summary, unit: string, digits = 2): string {
	const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(digits));
	return s.n > 1 ? `${f(s.median)} ${unit} [${f(s.min)}-${f(s.max)}]` : `${f(s.median)} ${unit}`;
}
