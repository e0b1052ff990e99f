import type { TabularTask, TimeSeriesTask } from '@qflare/protocol';
import { parseCsvTable } from './csv-table';
import { checkSplitOptions, type SplitOptions } from './hold-out';
import type { PreparedData } from './prepared-data';
import { prepareTabular } from './tabular';
import { prepareTimeSeries } from './time-series';

/**
 * Parses and validates a participant's CSV against the project's task and prepares it for
 * training: raw encoded samples, a seeded hold-out, feature statistics of the training split.
 * Throws DataImportError listing every problem (file, row, column, value).
 */
export function prepareCsv(text: string, task: TabularTask | TimeSeriesTask, split: SplitOptions, fileName = 'the CSV file'): PreparedData {
	checkSplitOptions(split);
	const table = parseCsvTable(text, fileName);
	return task.kind === 'tabular' ? prepareTabular(table, task, split) : prepareTimeSeries(table, task, split);
}
