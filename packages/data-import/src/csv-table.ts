import Papa from 'papaparse';
import { DataImportError, ProblemList, listChoices } from './errors';
import type { DataSummary, PreparedSplit } from './prepared-data';

/**
 * A CSV file parsed into text cells. `rowNumbers[i]` is the row a spreadsheet shows for
 * `rows[i]` (the header is row 1), so messages point where the user looks.
 */
export interface CsvTable {
	fileName: string;
	/** Column names as in the header, trimmed. */
	header: string[];
	rows: string[][];
	rowNumbers: number[];
}

/** A cell with nothing but whitespace counts as empty. */
export function isBlank(cell: string | undefined): boolean {
	return cell === undefined || cell.trim() === '';
}

/**
 * Parses CSV text with papaparse: a header is required, a UTF-8 byte-order mark and CRLF line
 * ends are accepted, quoted fields may hold delimiters, quotes and line breaks. The delimiter is
 * detected (comma, tab, semicolon, pipe). Rows whose cells are all empty (blank lines, or ",,,"
 * as spreadsheets export them) are left out; rows with the wrong number of fields are problems.
 */
export function parseCsvTable(text: string, fileName = 'the CSV file'): CsvTable {
	const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
	if (body.trim() === '') throw new DataImportError([`${fileName} is empty: expected a header row and data rows`]);

	const parsed = Papa.parse<string[]>(body, { header: false, skipEmptyLines: false, dynamicTyping: false });
	const problems = new ProblemList();
	for (const error of parsed.errors) {
		// The guess falls back to a comma, which is what a one-column file needs; column checks say the rest.
		if (error.type === 'Delimiter') continue;
		const where = error.row === undefined ? '' : ` at row ${error.row + 1}`;
		problems.add(`${fileName}${where}: ${error.message.replace(/\.$/, '')} (check the quotes in that row)`);
	}
	problems.throwIfAny();

	const records = parsed.data;
	const headerIndex = records.findIndex((record) => !record.every(isBlank));
	if (headerIndex < 0) throw new DataImportError([`${fileName} is empty: expected a header row and data rows`]);
	const header = records[headerIndex].map((name) => name.trim());

	const seen = new Map<string, number>();
	header.forEach((name, i) => {
		if (name === '') return;
		const first = seen.get(name);
		if (first === undefined) seen.set(name, i);
		else problems.add(`${fileName}: column ${JSON.stringify(name)} appears twice in the header (columns ${first + 1} and ${i + 1})`);
	});

	const rows: string[][] = [];
	const rowNumbers: number[] = [];
	for (let r = headerIndex + 1; r < records.length; r++) {
		const record = records[r];
		if (record.every(isBlank)) continue;
		if (record.length !== header.length) {
			problems.add(`${fileName} row ${r + 1} has ${record.length} field${record.length === 1 ? '' : 's'}; the header has ${header.length}`);
			continue;
		}
		rows.push(record);
		rowNumbers.push(r + 1);
	}
	problems.throwIfAny();
	if (rows.length === 0) throw new DataImportError([`${fileName} has a header but no data rows`]);
	return { fileName, header, rows, rowNumbers };
}

/**
 * Finds each expected column in the header. A missing column is a problem (with a hint when only
 * the letter case differs); a named column the task does not use is a problem too, since it most
 * likely means the wrong file or a renamed column. A column with no name and no values (trailing
 * delimiters) is ignored.
 */
export function locateColumns(table: CsvTable, expected: readonly string[], problems: ProblemList): Map<string, number> {
	const indexes = new Map<string, number>();
	for (const name of expected) {
		const index = table.header.indexOf(name);
		if (index >= 0) {
			indexes.set(name, index);
			continue;
		}
		const sameLetters = table.header.find((h) => h.toLowerCase() === name.toLowerCase());
		const hint = sameLetters ? ` (the header has ${JSON.stringify(sameLetters)}: column names are case-sensitive)` : '';
		problems.add(`${table.fileName} is missing the column ${JSON.stringify(name)}${hint}`);
	}
	const wanted = new Set(expected);
	table.header.forEach((name, i) => {
		if (wanted.has(name)) return;
		if (name === '') {
			if (table.rows.every((row) => isBlank(row[i]))) return;
			problems.add(`${table.fileName}: header column ${i + 1} has no name but holds values`);
			return;
		}
		problems.add(`${table.fileName} has the column ${JSON.stringify(name)}, which the task does not use (expected only ${listChoices(expected)})`);
	});
	return indexes;
}

/**
 * What the participant sees about a CSV it imported: the file, its rows and header, the first
 * five rows as text, and the sizes of the split (time series: windows, and the gap between).
 */
export function tableSummary(table: CsvTable, train: PreparedSplit, holdOut: PreparedSplit | null, gapWindows = 0): DataSummary {
	return {
		source: table.fileName,
		rows: table.rows.length,
		columns: table.header,
		preview: table.rows.slice(0, 5).map((row) => row.map((cell) => cell.trim())),
		trainCount: train.count,
		holdOutCount: holdOut?.count ?? 0,
		gapWindows,
		skipped: []
	};
}
