import { FeatureStatsReport, numericColumns, taskObjective, type DeviceStatusReport } from '@qflare/protocol';
import type { DeviceDataset } from './ports';
import { labelCounts } from './dataset-check';

// What the server may know about a device's data: counts and sums, never rows.

/**
 * The column sums a local-data device shares before round 1, which the server merges into the
 * project's standardisation; null for demo data and for tasks without numeric columns (images).
 * Only the schema's sums go out: whatever else a stored copy carries stays here.
 */
export function featureStatsToShare(dataset: DeviceDataset, local: boolean): FeatureStatsReport | null {
	if (!local || numericColumns(dataset.task).length === 0) return null;
	return FeatureStatsReport.parse(dataset.stats ?? { columns: {} });
}

/** The data's part of device:status: the training rows, and a local classification split's label counts. */
export function dataStatus(dataset: DeviceDataset, local: boolean): Pick<DeviceStatusReport, 'samples' | 'labelHistogram'> {
	const objective = taskObjective(dataset.task);
	return {
		samples: dataset.train.count,
		// The server counts a demo shard's labels itself.
		...(local && objective.type === 'classification' ? { labelHistogram: labelCounts(dataset.train, objective.classes.length) } : {})
	};
}
