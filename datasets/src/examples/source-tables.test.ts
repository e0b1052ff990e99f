import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_CACHE_DIR } from './build-examples';
import { parseCsvLine } from './csv-text';
import {
	ExampleSourceUnavailable,
	extractedPackage,
	SKLEARN_DATA_DIR,
	SKLEARN_PACKAGE,
	STATSMODELS_DATASETS_DIR,
	STATSMODELS_PACKAGE
} from './debian-packages';
import { BREAST_CANCER_FEATURES, DIABETES_FEATURES, WINE_FEATURES } from './example-tasks';
import { breastCancerCsv, co2Csv, diabetesCsv, interpolateGaps, wineCsv } from './source-tables';

const row30 = (target: number) => [...Array.from({ length: 30 }, (_, i) => String(i + 0.5)), String(target)].join(',');

describe('source tables (fixtures)', () => {
	it('names breast cancer columns and maps class 0 to malignant', () => {
		const csv = breastCancerCsv(`2,30,malignant,benign\n${row30(0)}\n${row30(1)}\n`);
		const [header, first, second] = csv.trimEnd().split('\n');
		expect(parseCsvLine(header)).toEqual([...BREAST_CANCER_FEATURES, 'diagnosis']);
		expect(first.endsWith(',29.5,malignant')).toBe(true);
		expect(second.endsWith(',29.5,benign')).toBe(true);
	});

	it('says what is wrong with a source file', () => {
		expect(() => breastCancerCsv(`3,30,malignant,benign\n${row30(0)}\n`)).toThrow('breast_cancer.csv: 1 rows, but its first line says 3');
		expect(() => breastCancerCsv(`1,30,malignant,benign\n${row30(2)}\n`)).toThrow('breast_cancer.csv line 2: class index "2" is outside 0..1');
		expect(() => breastCancerCsv(`1,30,benign,malignant\n${row30(0)}\n`)).toThrow('classes benign, malignant differ');
		expect(() => breastCancerCsv(`1,30,malignant,benign\n${row30(0).replace('3.5', 'x')}\n`)).toThrow(
			'breast_cancer.csv line 2 column 4: "x" is not a number'
		);
		expect(() => wineCsv('1,12,class_0,class_1,class_2\n')).toThrow('should be "ROWS,13,CLASS..."');
	});

	it('joins diabetes features and targets, targets as plain numbers', () => {
		const csv = diabetesCsv('59 2 32.1 101.0 157 93.2 38.0 4.0 4.8598 87\n48 1 21.6 87.0 183 103.2 70.0 3.0 3.8918 69\n', '1.510000000000000000e+02\n7.500000000000000000e+01\n');
		expect(csv).toBe(`${DIABETES_FEATURES.join(',')},progression\n59,2,32.1,101.0,157,93.2,38.0,4.0,4.8598,87,151\n48,1,21.6,87.0,183,103.2,70.0,3.0,3.8918,69,75\n`);
		expect(() => diabetesCsv('1 2 3\n', '4\n')).toThrow('diabetes_data_raw.csv line 1: 3 values, expected 10');
		expect(() => diabetesCsv('1 2 3 4 5 6 7 8 9 10\n', '')).toThrow('1 rows of features but 0 targets');
	});

	it('interpolates missing weeks linearly and refuses open ends', () => {
		expect(interpolateGaps([1, null, null, 4, null, 5], 2)).toEqual([1, 2, 3, 4, 4.5, 5]);
		expect(interpolateGaps([316.9, null, 317.5], 2)).toEqual([316.9, 317.2, 317.5]);
		expect(interpolateGaps([1, null, 2], 0)).toEqual([1, 2, 2]);
		expect(() => interpolateGaps([null, 1], 2)).toThrow('the first 1 values are missing');
		expect(() => interpolateGaps([1, null], 2)).toThrow('the last 1 values are missing');
	});

	it('writes co2 on a weekly grid with ISO dates', () => {
		const table = co2Csv('date,co2\n19580329,316.1\n19580405,\n19580412,317.6\n');
		expect(table).toEqual({ csv: 'date,co2\n1958-03-29,316.1\n1958-04-05,316.85\n1958-04-12,317.6\n', rows: 3, interpolated: 1 });
		expect(() => co2Csv('date,co2\n19580329,316.1\n19580412,317.6\n')).toThrow('co2.csv line 3: 19580412 is not one week after');
		expect(() => co2Csv('date,co2\n19581329,316.1\n')).toThrow('"19581329" is not a YYYYMMDD date');
	});
});

// The real files come from Debian's packages; without apt or a mirror these tests cannot run.
const gunzipAsync = promisify(gunzip);
const sources = await Promise.all([extractedPackage(SKLEARN_PACKAGE, EXAMPLES_CACHE_DIR), extractedPackage(STATSMODELS_PACKAGE, EXAMPLES_CACHE_DIR)]).then(
	([sklearn, statsmodels]) => ({ ok: true as const, sklearn, statsmodels }),
	(e: unknown) => {
		if (!(e instanceof ExampleSourceUnavailable)) throw e;
		return { ok: false as const, reason: e.message };
	}
);
if (!sources.ok) console.log(`skipping the CSV builders on the real data: ${sources.reason}`);

const countBy = (values: string[]) => Object.fromEntries([...new Set(values)].map((v) => [v, values.filter((x) => x === v).length]));
function table(csv: string): { header: string[]; rows: string[][] } {
	const [header, ...rows] = csv.trimEnd().split('\n').map(parseCsvLine);
	return { header, rows };
}

describe.skipIf(!sources.ok)(`source tables (Debian's python3-sklearn and python3-statsmodels)${sources.ok ? '' : ': SKIPPED, .debs unavailable'}`, () => {
	const sklearn = (file: string) => readFile(path.join(sources.ok ? sources.sklearn : '', SKLEARN_DATA_DIR, file));

	it('breast cancer: 569 rows, 30 named features, 212 malignant and 357 benign', async () => {
		const { header, rows } = table(breastCancerCsv((await sklearn('breast_cancer.csv')).toString()));
		expect(header).toEqual([...BREAST_CANCER_FEATURES, 'diagnosis']);
		expect(rows).toHaveLength(569);
		expect(countBy(rows.map((r) => r[30]))).toEqual({ malignant: 212, benign: 357 });
		expect(rows[0].slice(0, 4)).toEqual(['17.99', '10.38', '122.8', '1001']);
		for (const r of rows) expect(r).toHaveLength(31);
	});

	it('wine: 178 rows, 13 named features, cultivars 59 / 71 / 48', async () => {
		const { header, rows } = table(wineCsv((await sklearn('wine_data.csv')).toString()));
		expect(header).toEqual([...WINE_FEATURES, 'cultivar']);
		expect(rows).toHaveLength(178);
		expect(countBy(rows.map((r) => r[13]))).toEqual({ class_0: 59, class_1: 71, class_2: 48 });
	});

	it('diabetes: 442 rows, 10 features and progression', async () => {
		const gz = async (file: string) => (await gunzipAsync(await sklearn(file))).toString();
		const { header, rows } = table(diabetesCsv(await gz('diabetes_data_raw.csv.gz'), await gz('diabetes_target.csv.gz')));
		expect(header).toEqual([...DIABETES_FEATURES, 'progression']);
		expect(rows).toHaveLength(442);
		expect(rows[0]).toEqual(['59', '2', '32.1', '101.0', '157', '93.2', '38.0', '4.0', '4.8598', '87', '151']);
		const progression = rows.map((r) => Number(r[10]));
		expect([Math.min(...progression), Math.max(...progression)]).toEqual([25, 346]);
	});

	it('co2: 2,284 weeks from 1958-03-29 to 2001-12-29, 59 of them interpolated', async () => {
		const root = sources.ok ? sources.statsmodels : '';
		const result = co2Csv((await readFile(path.join(root, STATSMODELS_DATASETS_DIR, 'co2/co2.csv'))).toString());
		const { header, rows } = table(result.csv);
		expect(header).toEqual(['date', 'co2']);
		expect([result.rows, result.interpolated, rows.length]).toEqual([2284, 59, 2284]);
		expect(rows[0]).toEqual(['1958-03-29', '316.1']);
		expect(rows.at(-1)).toEqual(['2001-12-29', '371.5']);
		for (const r of rows) expect(Number.isFinite(Number(r[1]))).toBe(true);
	});
});
