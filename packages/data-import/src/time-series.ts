import type { ColumnSums, TimeSeriesTask } from '@qflare/protocol';
import { cellPlace, parseDecimal, readNumber } from './cell-values';
import { locateColumns, tableSummary, type CsvTable } from './csv-table';
import { DataImportError, ProblemList, quoteValue } from './errors';
import { columnSums } from './feature-stats';
import { checkSplitOptions, holdOutCount, type SplitOptions } from './hold-out';
import type { PreparedData, PreparedSplit } from './prepared-data';

const ISO_DATE = /^(\d{4}-\d{2}(?:-\d{2})?)(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Milliseconds since 1970 for an ISO date or date-time, or null. A date-time without a zone is
 * read as UTC (not local time), so the order never depends on the machine's time zone or DST.
 */
export function parseIsoTime(text: string): number | null {
	const match = ISO_DATE.exec(text.trim());
	if (!match) return null;
	const [, date, time, zone] = match;
	let iso = date;
	if (time) {
		const offset = zone === undefined ? 'Z' : zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
		iso = `${date}T${time}${offset}`;
	}
	const ms = Date.parse(iso);
	return Number.isFinite(ms) ? ms : null;
}

/** Time column values: all plain numbers (a step, a year) or all ISO dates, as the first filled row has it. */
function readTimes(table: CsvTable, column: number, name: string, problems: ProblemList): Float64Array {
	const times = new Float64Array(table.rows.length);
	const first = table.rows.find((row) => row[column].trim() !== '')?.[column] ?? '';
	const numeric = parseDecimal(first) !== null;
	const expected = numeric ? 'a number, like the first row' : 'an ISO date such as 2024-01-31 or 2024-01-31T08:00:00Z';
	table.rows.forEach((row, r) => {
		const cell = row[column].trim();
		const value = numeric ? parseDecimal(cell) : parseIsoTime(cell);
		if (value !== null) times[r] = value;
		else if (cell === '') problems.add(`${cellPlace(table.fileName, table.rowNumbers[r], name)} is empty: every row needs a time`);
		else problems.add(`${cellPlace(table.fileName, table.rowNumbers[r], name)}: ${quoteValue(cell)} is not ${expected}`);
	});
	return times;
}

/** Rows the task needs at the least: one window of inputs and its horizon of targets, plus a gap-free hold-out. */
function tooFewRows(task: TimeSeriesTask, fileName: string, rows: number, withHoldOut: boolean): DataImportError {
	const span = task.window + task.horizon;
	const need = withHoldOut ? 2 * span : span;
	const why = withHoldOut
		? `one training window and one hold-out window that do not share rows (2 x (window ${task.window} + horizon ${task.horizon}))`
		: `one window of ${task.window} rows plus ${task.horizon} row${task.horizon === 1 ? '' : 's'} to predict`;
	return new DataImportError([`${fileName} has ${rows} data row${rows === 1 ? '' : 's'}, too few: the task needs at least ${need} for ${why}`]);
}

/**
 * Cuts a time-series CSV into forecasting windows. Rows are sorted by the time column (numbers
 * or ISO dates; duplicates and unparseable times are problems); every value cell must hold a
 * number. Window k takes rows k..k+window-1 (all value columns, row-major: [window, values]) as
 * inputs and the target column at the next `horizon` rows as targets.
 *
 * The hold-out is the last windows in time order. Between training and hold-out,
 * window + horizon - 1 windows are left out (the gap): every training window, targets included,
 * ends before the first hold-out window begins, so the model never trains on a value it is
 * later scored on. Feature statistics cover the rows the training windows use.
 */
export function prepareTimeSeries(table: CsvTable, task: TimeSeriesTask, split: SplitOptions): PreparedData {
	checkSplitOptions(split);
	const problems = new ProblemList();
	const columns = locateColumns(table, [task.timeColumn, ...task.valueColumns], problems);
	problems.throwIfAny();

	const count = table.rows.length;
	const timeColumn = columns.get(task.timeColumn) as number;
	const times = readTimes(table, timeColumn, task.timeColumn, problems);
	const rawValues = task.valueColumns.map((name) => {
		const column = columns.get(name) as number;
		const values = new Float32Array(count);
		table.rows.forEach((row, r) => {
			values[r] = readNumber(row[column], () => cellPlace(table.fileName, table.rowNumbers[r], name), problems);
		});
		return values;
	});
	problems.throwIfAny();

	const order = Array.from({ length: count }, (_, r) => r).sort((a, b) => times[a] - times[b] || a - b);
	for (let i = 1; i < count; i++) {
		if (times[order[i]] === times[order[i - 1]]) {
			const [a, b] = [order[i - 1], order[i]];
			problems.add(`${table.fileName} rows ${table.rowNumbers[a]} and ${table.rowNumbers[b]} have the same time ${quoteValue(table.rows[b][timeColumn].trim())}: each time may appear once`);
		}
	}
	problems.throwIfAny();

	const valueCount = task.valueColumns.length;
	const sorted = rawValues.map((values) => Float32Array.from(order, (r) => values[r]));
	const target = sorted[task.valueColumns.indexOf(task.target)];
	const span = task.window + task.horizon;
	const windows = count - span + 1;
	if (windows < 1) throw tooFewRows(task, table.fileName, count, false);
	const held = holdOutCount(windows, split.holdOutFraction);
	const gap = held > 0 ? span - 1 : 0;
	const trainWindows = windows - held - gap;
	if (trainWindows < 1) throw tooFewRows(task, table.fileName, count, true);

	const cut = (first: number, n: number): PreparedSplit => {
		const inputs = new Float32Array(n * task.window * valueCount);
		const targets = new Float32Array(n * task.horizon);
		for (let k = 0; k < n; k++) {
			const start = first + k;
			for (let t = 0; t < task.window; t++) {
				const at = (k * task.window + t) * valueCount;
				for (let v = 0; v < valueCount; v++) inputs[at + v] = sorted[v][start + t];
			}
			targets.set(target.subarray(start + task.window, start + span), k * task.horizon);
		}
		return { count: n, inputs, targets };
	};
	const train = cut(0, trainWindows);
	const holdOut = held > 0 ? cut(trainWindows + gap, held) : null;

	// The rows training windows touch: inputs and targets of windows 0..trainWindows-1.
	const trainRows = trainWindows - 1 + span;
	const stats: Record<string, ColumnSums> = {};
	task.valueColumns.forEach((name, v) => {
		stats[name] = columnSums(sorted[v], 0, 1, trainRows);
	});

	return {
		task,
		train,
		holdOut,
		stats: { columns: stats },
		labelHistogram: null,
		summary: tableSummary(table, train, holdOut, gap)
	};
}

/**
 * Encodes windows given as numbers (the predict endpoint, "Try the model"): each window has
 * `window` rows of one value per value column, in the task's column order. Raw, not standardised.
 */
export function encodeWindows(windows: number[][][], task: TimeSeriesTask): Float32Array {
	if (windows.length === 0) throw new DataImportError(['no windows to encode']);
	const valueCount = task.valueColumns.length;
	const out = new Float32Array(windows.length * task.window * valueCount);
	const problems = new ProblemList();
	windows.forEach((window, w) => {
		if (window.length !== task.window) {
			problems.add(`window ${w + 1} has ${window.length} rows; the task's window is ${task.window} rows`);
			return;
		}
		window.forEach((row, t) => {
			if (row.length !== valueCount) {
				problems.add(`window ${w + 1}, row ${t + 1} has ${row.length} values; expected ${valueCount} (${task.valueColumns.join(', ')})`);
				return;
			}
			row.forEach((value, v) => {
				const place = () => `window ${w + 1}, row ${t + 1}, column ${JSON.stringify(task.valueColumns[v])}`;
				out[(w * task.window + t) * valueCount + v] = readNumber(String(value), place, problems);
			});
		});
	});
	problems.throwIfAny();
	return out;
}
