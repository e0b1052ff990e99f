export interface HistogramBar {
	label: number;
	count: number;
	/** Bar height in the chart's units. */
	height: number;
}

/**
 * Bars scaled to the largest count. A label with any samples gets at least minHeight so a
 * rare label stays visible next to a dominant one; that is what label skew looks like.
 */
export function histogramBars(counts: readonly number[], height: number, minHeight = 1): HistogramBar[] {
	const clean = counts.map((c) => (Number.isFinite(c) && c > 0 ? c : 0));
	const max = Math.max(0, ...clean);
	return clean.map((count, label) => ({
		label,
		count,
		height: count === 0 || max === 0 ? 0 : Math.max(minHeight, (count / max) * height)
	}));
}

/** "label: count" per label, for the chart's tooltip and accessible name. */
export function histogramTitle(counts: readonly number[]): string {
	const total = counts.reduce((a, c) => a + (Number.isFinite(c) && c > 0 ? c : 0), 0);
	return `${total} samples · ` + counts.map((c, i) => `${i}: ${c}`).join(', ');
}
