import type { ColumnScale, ColumnSums, FeatureStatsReport, Standardization } from '@qflare/protocol';

/*
 * Feature statistics and standardization are keyed by column name, and a column may be named
 * anything a CSV header holds ("price.usd", "$total"). Neither nedb nor MongoDB takes such keys
 * as field names, so the store keeps these maps as arrays of named entries.
 */

export type StoredColumnSums = ColumnSums & { name: string };
export type StoredColumnScale = ColumnScale & { name: string };
export interface StoredFeatureStats {
	columns: StoredColumnSums[];
}
export interface StoredStandardization {
	columns: StoredColumnScale[];
	rows: number;
	devices: number;
}

export function toStoredFeatureStats(stats: FeatureStatsReport | null): StoredFeatureStats | null {
	if (stats === null) return null;
	return { columns: Object.entries(stats.columns).map(([name, sums]) => ({ name, count: sums.count, sum: sums.sum, sumSquares: sums.sumSquares })) };
}

export function fromStoredFeatureStats(stored: StoredFeatureStats | null | undefined): FeatureStatsReport | null {
	if (!stored) return null;
	// fromEntries defines own properties, so even a column named "__proto__" round-trips.
	return { columns: Object.fromEntries(stored.columns.map(({ name, count, sum, sumSquares }): [string, ColumnSums] => [name, { count, sum, sumSquares }])) };
}

export function toStoredStandardization(standardization: Standardization | null): StoredStandardization | null {
	if (standardization === null) return null;
	return {
		columns: Object.entries(standardization.columns).map(([name, scale]) => ({ name, mean: scale.mean, std: scale.std })),
		rows: standardization.rows,
		devices: standardization.devices
	};
}

export function fromStoredStandardization(stored: StoredStandardization | null | undefined): Standardization | null {
	if (!stored) return null;
	const columns = Object.fromEntries(stored.columns.map(({ name, mean, std }): [string, ColumnScale] => [name, { mean, std }]));
	return { columns, rows: stored.rows, devices: stored.devices };
}
