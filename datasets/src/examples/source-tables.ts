import { csvText } from './csv-text';
import {
	BREAST_CANCER_CLASSES,
	BREAST_CANCER_FEATURES,
	BREAST_CANCER_TARGET,
	CO2_TIME_COLUMN,
	CO2_VALUE_COLUMN,
	DIABETES_FEATURES,
	DIABETES_TARGET,
	WINE_CLASSES,
	WINE_FEATURES,
	WINE_TARGET
} from './example-tasks';

// Converts the data files inside Debian's python3-sklearn and python3-statsmodels packages into
// CSVs with a header. Pure: the caller reads the files. Numbers keep their source spelling so
// the CSVs hold exactly the published values.

function lines(text: string): string[] {
	return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

function checkNumber(cell: string | undefined, where: string): string {
	const text = (cell ?? '').trim();
	if (text === '' || !Number.isFinite(Number(text))) throw new Error(`${where}: "${cell ?? ''}" is not a number`);
	return text;
}

/**
 * sklearn's classification CSVs: a first line `rows,features,class names...`, then rows of
 * feature values and an integer class index.
 */
function sklearnClassificationCsv(
	text: string,
	file: string,
	features: readonly string[],
	target: string,
	classes: readonly string[]
): string {
	const [first, ...data] = lines(text);
	const head = (first ?? '').split(',').map((c) => c.trim());
	const declaredRows = Number(head[0]);
	const declaredFeatures = Number(head[1]);
	const declaredClasses = head.slice(2);
	if (!Number.isInteger(declaredRows) || declaredFeatures !== features.length) {
		throw new Error(`${file}: first line "${first}" should be "ROWS,${features.length},CLASS..."`);
	}
	if (declaredClasses.join(',') !== classes.join(',')) {
		throw new Error(`${file}: classes ${declaredClasses.join(', ')} differ from the expected ${classes.join(', ')}`);
	}
	if (data.length !== declaredRows) throw new Error(`${file}: ${data.length} rows, but its first line says ${declaredRows}`);
	const rows = data.map((line, i) => {
		const where = `${file} line ${i + 2}`;
		const cells = line.split(',');
		if (cells.length !== features.length + 1) throw new Error(`${where}: ${cells.length} cells, expected ${features.length + 1}`);
		const index = Number(cells[features.length]);
		if (!Number.isInteger(index) || index < 0 || index >= classes.length) {
			throw new Error(`${where}: class index "${cells[features.length]}" is outside 0..${classes.length - 1}`);
		}
		return [...cells.slice(0, features.length).map((c, j) => checkNumber(c, `${where} column ${j + 1}`)), classes[index]];
	});
	return csvText([...features, target], rows);
}

/** sklearn's breast_cancer.csv: 569 rows, 30 features, target `diagnosis` (malignant | benign). */
export function breastCancerCsv(text: string): string {
	return sklearnClassificationCsv(text, 'breast_cancer.csv', BREAST_CANCER_FEATURES, BREAST_CANCER_TARGET, BREAST_CANCER_CLASSES);
}

/** sklearn's wine_data.csv: 178 rows, 13 features, target `cultivar` (class_0..class_2). */
export function wineCsv(text: string): string {
	return sklearnClassificationCsv(text, 'wine_data.csv', WINE_FEATURES, WINE_TARGET, WINE_CLASSES);
}

/**
 * sklearn's diabetes_data_raw.csv (10 unscaled features, space-separated) and
 * diabetes_target.csv (one progression value per line, in scientific notation).
 */
export function diabetesCsv(dataText: string, targetText: string): string {
	const data = lines(dataText);
	const targets = lines(targetText);
	if (data.length !== targets.length) {
		throw new Error(`diabetes: ${data.length} rows of features but ${targets.length} targets`);
	}
	const rows = data.map((line, i) => {
		const where = `diabetes_data_raw.csv line ${i + 1}`;
		const cells = line.trim().split(/\s+/);
		if (cells.length !== DIABETES_FEATURES.length) throw new Error(`${where}: ${cells.length} values, expected ${DIABETES_FEATURES.length}`);
		const target = Number(checkNumber(targets[i], `diabetes_target.csv line ${i + 1}`));
		return [...cells.map((c, j) => checkNumber(c, `${where} column ${j + 1}`)), target];
	});
	return csvText([...DIABETES_FEATURES, DIABETES_TARGET], rows);
}

export interface Co2Table {
	csv: string;
	rows: number;
	/** Weeks without a reading whose value was interpolated. */
	interpolated: number;
}

/** `YYYYMMDD` as a UTC day number, or an error naming the line. */
function dayNumber(text: string, where: string): number {
	const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text.trim());
	const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
	const date = new Date(ms);
	if (!match || date.getUTCDate() !== Number(match[3]) || date.getUTCMonth() !== Number(match[2]) - 1) {
		throw new Error(`${where}: "${text}" is not a YYYYMMDD date`);
	}
	return ms / 86_400_000;
}

function isoDate(day: number): string {
	return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Linear interpolation of the missing (null) entries between their nearest known neighbours,
 * rounded to `decimals`. Leading or trailing gaps have no two neighbours: an error.
 */
export function interpolateGaps(values: readonly (number | null)[], decimals: number): number[] {
	const scale = 10 ** decimals;
	const out: number[] = [];
	let previous = -1;
	for (let i = 0; i < values.length; i++) {
		const v = values[i];
		if (v === null) continue;
		if (previous < 0 && i > 0) throw new Error(`the first ${i} values are missing: nothing to interpolate from`);
		const from = previous < 0 ? v : (values[previous] as number);
		for (let j = previous + 1; j < i; j++) {
			out.push(Math.round((from + ((v - from) * (j - previous)) / (i - previous)) * scale) / scale);
		}
		out.push(v);
		previous = i;
	}
	if (out.length !== values.length) throw new Error(`the last ${values.length - out.length} values are missing: nothing to interpolate to`);
	return out;
}

/**
 * statsmodels' co2.csv: weekly Mauna Loa readings 1958-2001 (`YYYYMMDD,ppm`), some weeks
 * empty. Written as `date,co2` with ISO dates on the full weekly grid; the empty weeks are
 * interpolated linearly (not dropped) so that every window spans the same time.
 */
export function co2Csv(text: string): Co2Table {
	const [first, ...data] = lines(text);
	if ((first ?? '').trim() !== 'date,co2') throw new Error(`co2.csv: header "${first}" should be "date,co2"`);
	const days: number[] = [];
	const values: (number | null)[] = [];
	data.forEach((line, i) => {
		const where = `co2.csv line ${i + 2}`;
		const [date, value, ...rest] = line.split(',');
		if (rest.length) throw new Error(`${where}: more than two cells`);
		const day = dayNumber(date ?? '', where);
		if (days.length && day - days[days.length - 1] !== 7) {
			throw new Error(`${where}: ${date} is not one week after the previous reading`);
		}
		days.push(day);
		values.push((value ?? '').trim() === '' ? null : Number(checkNumber(value, where)));
	});
	const filled = interpolateGaps(values, 2);
	return {
		csv: csvText([CO2_TIME_COLUMN, CO2_VALUE_COLUMN], days.map((day, i) => [isoDate(day), filled[i]])),
		rows: days.length,
		interpolated: values.filter((v) => v === null).length
	};
}
