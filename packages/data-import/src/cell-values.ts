import { quoteValue, type ProblemList } from './errors';

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT32_MAX = 3.4028234663852886e38;

/** A plain decimal number ("12", "-0.5", "1e-3"); null for anything else (hex, "Infinity", "1,5", ""). */
export function parseDecimal(text: string): number | null {
	const trimmed = text.trim();
	if (!DECIMAL.test(trimmed)) return null;
	const value = Number(trimmed);
	return Number.isFinite(value) ? value : null;
}

/**
 * Reads a numeric cell, or adds a problem naming `place()` (file, row, column) and returns NaN.
 * The place is built only for a problem: most cells are fine.
 * Values are stored as float32, so a value beyond its range is refused rather than made infinite.
 */
export function readNumber(cell: string, place: () => string, problems: ProblemList): number {
	const value = parseDecimal(cell);
	if (value !== null) {
		if (Math.abs(value) > FLOAT32_MAX) {
			problems.add(`${place()}: ${quoteValue(cell.trim())} is too large (the limit is about 3.4e38)`);
			return Number.NaN;
		}
		return value;
	}
	const trimmed = cell.trim();
	const where = place();
	if (trimmed === '') problems.add(`${where} is empty: every cell needs a value`);
	else if (/^[+-]?\d[\d.,]*$/.test(trimmed) && trimmed.includes(',')) {
		problems.add(`${where}: ${quoteValue(trimmed)} is not a number (write numbers with a dot for decimals and no thousands separators)`);
	} else problems.add(`${where}: ${quoteValue(trimmed)} is not a number`);
	return Number.NaN;
}

/** "data.csv row 5, column "age"" — the row as a spreadsheet numbers it. */
export function cellPlace(fileName: string, rowNumber: number, column: string): string {
	return `${fileName} row ${rowNumber}, column ${JSON.stringify(column)}`;
}
