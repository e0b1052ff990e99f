// Feature scaling for local data, computed from per-device sums so no row leaves a device.
import type { ColumnScale, FeatureStatsReport, Standardization } from '@qflare/protocol';

/**
 * Merges the participants' per-column (count, sum, sum of squares) into a mean and a population
 * standard deviation per column. A column nobody reported or with a (numerically) constant value
 * gets std 1, so scaling never divides by zero; reports with a different column set are refused.
 */
export function mergeFeatureStats(reports: readonly FeatureStatsReport[]): Standardization {
	if (reports.length === 0) throw new RangeError('mergeFeatureStats: no reports');
	const names = Object.keys(reports[0].columns).sort();
	const totals = new Map(names.map((n) => [n, { count: 0, sum: 0, sumSquares: 0 }]));
	for (const [i, report] of reports.entries()) {
		const theirs = Object.keys(report.columns).sort();
		if (theirs.length !== names.length || theirs.some((n, j) => n !== names[j])) {
			throw new RangeError(`mergeFeatureStats: report ${i} has columns [${theirs.join(', ')}], expected [${names.join(', ')}]`);
		}
		for (const name of names) {
			const t = totals.get(name)!;
			const c = report.columns[name];
			t.count += c.count;
			t.sum += c.sum;
			t.sumSquares += c.sumSquares;
		}
	}
	const columns: Record<string, ColumnScale> = {};
	let rows = 0;
	for (const [name, t] of totals) {
		rows = Math.max(rows, t.count);
		columns[name] = columnScale(t.count, t.sum, t.sumSquares);
	}
	return { columns, rows, devices: reports.length };
}

export function columnScale(count: number, sum: number, sumSquares: number): ColumnScale {
	if (count === 0) return { mean: 0, std: 1 };
	const mean = sum / count;
	// E[x^2] - mean^2 cancels for large means: a variance within the rounding error of E[x^2]
	// is indistinguishable from a constant column, which scales by 1. The bound is relative
	// only, so a column in tiny units (std 1e-9) keeps its spread.
	const meanSquare = sumSquares / count;
	const variance = meanSquare - mean * mean;
	const constant = !(variance > 1e-12 * meanSquare);
	return { mean, std: constant ? 1 : Math.sqrt(variance) };
}
