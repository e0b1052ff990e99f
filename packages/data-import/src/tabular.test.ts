import type { TabularTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { DataImportError } from './errors';
import { prepareCsv } from './prepare-csv';
import { encodeRows } from './tabular';

const task: TabularTask = {
	kind: 'tabular',
	features: [
		{ name: 'age', type: 'numeric' },
		{ name: 'color', type: 'categorical', values: ['red', 'green', 'blue'] },
		{ name: 'height', type: 'numeric' }
	],
	target: 'species',
	objective: { type: 'classification', classes: ['a', 'b'] }
};
const regression: TabularTask = { ...task, target: 'weight', objective: { type: 'regression', loss: 'mse' } };
const noHoldOut = { holdOutFraction: 0, seed: 1 };

const csv = ['age,color,height,species', '1.5,red,10,a', '2,blue,20,b', '-0.25,green,30,a', '4,red,40,b'].join('\n');

/** The problems a bad file gets, or a failure when it is accepted. */
function problemsOf(text: string, t: TabularTask = task): string[] {
	try {
		prepareCsv(text, t, noHoldOut, 'data.csv');
	} catch (error) {
		expect(error).toBeInstanceOf(DataImportError);
		return (error as DataImportError).problems;
	}
	throw new Error('expected a DataImportError');
}

describe('prepareCsv (tabular)', () => {
	it('encodes a 4-row CSV: numbers as given, categoricals one-hot, class indices', () => {
		const data = prepareCsv(csv, task, noHoldOut, 'data.csv');
		expect(data.train.count).toBe(4);
		expect(data.holdOut).toBeNull();
		expect(data.train.inputs).toBeInstanceOf(Float32Array);
		expect(Array.from(data.train.inputs)).toEqual([1.5, 1, 0, 0, 10, 2, 0, 0, 1, 20, -0.25, 0, 1, 0, 30, 4, 1, 0, 0, 40]);
		expect(data.train.targets).toBeInstanceOf(Uint8Array);
		expect(Array.from(data.train.targets)).toEqual([0, 1, 0, 1]);
		expect(data.labelHistogram).toEqual([2, 2]);
		expect(data.stats).toEqual({
			columns: {
				age: { count: 4, sum: 7.25, sumSquares: 2.25 + 4 + 0.0625 + 16 },
				height: { count: 4, sum: 100, sumSquares: 3000 }
			}
		});
		expect(data.summary).toEqual({
			source: 'data.csv',
			rows: 4,
			columns: ['age', 'color', 'height', 'species'],
			preview: [
				['1.5', 'red', '10', 'a'],
				['2', 'blue', '20', 'b'],
				['-0.25', 'green', '30', 'a'],
				['4', 'red', '40', 'b']
			],
			trainCount: 4,
			holdOutCount: 0,
			gapWindows: 0,
			skipped: []
		});
	});

	it('takes columns in any order, a UTF-8 BOM, CRLF, quoted fields, padded names and blank rows', () => {
		const text = '\ufeff species ,"height", color ,age\r\n"a",10,"red",1.5\r\n\r\n,,,\r\nb,"20",blue,2\r\n';
		const data = prepareCsv(text, task, noHoldOut);
		expect(Array.from(data.train.inputs)).toEqual([1.5, 1, 0, 0, 10, 2, 0, 0, 1, 20]);
		expect(Array.from(data.train.targets)).toEqual([0, 1]);
	});

	it('detects semicolon and tab delimiters', () => {
		for (const delimiter of [';', '\t']) {
			const data = prepareCsv(csv.replaceAll(',', delimiter), task, noHoldOut);
			expect(data.train.inputs.slice(0, 5)).toEqual(new Float32Array([1.5, 1, 0, 0, 10]));
		}
	});

	it('encodes regression targets as raw float32 values and gathers their statistics', () => {
		const text = ['age,color,height,weight', '1,red,2,10.5', '3,green,4,-2'].join('\n');
		const data = prepareCsv(text, regression, noHoldOut);
		expect(data.train.targets).toEqual(new Float32Array([10.5, -2]));
		expect(data.labelHistogram).toBeNull();
		expect(data.stats.columns.weight).toEqual({ count: 2, sum: 8.5, sumSquares: 110.25 + 4 });
		expect(Object.keys(data.stats.columns)).toEqual(['age', 'height', 'weight']);
	});

	it('gathers statistics over the training rows only', () => {
		const data = prepareCsv(csv, task, { holdOutFraction: 0.25, seed: 3 });
		expect(data.train.count).toBe(3);
		expect(data.holdOut?.count).toBe(1);
		const heldAge = data.holdOut!.inputs[0];
		const heldHeight = data.holdOut!.inputs[4];
		expect(data.stats.columns.age.count).toBe(3);
		expect(data.stats.columns.age.sum).toBe(7.25 - heldAge);
		expect(data.stats.columns.height.sum).toBe(100 - heldHeight);
		expect(data.stats.columns.height.sumSquares).toBe(3000 - heldHeight * heldHeight);
		// The label histogram counts the training rows only: the held-out row (age 2) is a "b".
		expect(heldAge).toBe(2);
		expect(Array.from(data.holdOut!.targets)).toEqual([1]);
		expect(data.labelHistogram).toEqual([2, 1]);
	});

	describe('clear messages for bad files', () => {
		it('an empty file, or a header without rows', () => {
			expect(problemsOf('')).toEqual(['data.csv is empty: expected a header row and data rows']);
			expect(problemsOf('\ufeff \r\n\r\n')).toEqual(['data.csv is empty: expected a header row and data rows']);
			expect(problemsOf('age,color,height,species\r\n')).toEqual(['data.csv has a header but no data rows']);
		});

		it('missing columns, with a hint when only the case differs', () => {
			expect(problemsOf('Age,color,species\n1,red,a')).toEqual([
				'data.csv is missing the column "age" (the header has "Age": column names are case-sensitive)',
				'data.csv is missing the column "height"',
				'data.csv has the column "Age", which the task does not use (expected only "age", "color", "height", "species")'
			]);
		});

		it('an extra column, named', () => {
			expect(problemsOf('age,color,height,species,patient_id\n1,red,2,a,17')).toEqual([
				'data.csv has the column "patient_id", which the task does not use (expected only "age", "color", "height", "species")'
			]);
		});

		it('a header column named twice', () => {
			expect(problemsOf('age,color,height,species,age\n1,red,2,a,1')[0]).toBe('data.csv: column "age" appears twice in the header (columns 1 and 5)');
		});

		it('ignores an unnamed column without values (trailing delimiters), not one with values', () => {
			expect(prepareCsv('age,color,height,species,\n1,red,2,a,\n', task, noHoldOut).train.count).toBe(1);
			expect(problemsOf('age,color,height,species,\n1,red,2,a,x\n')).toEqual(['data.csv: header column 5 has no name but holds values']);
		});

		it('rows with the wrong number of fields, by spreadsheet row number', () => {
			expect(problemsOf('age,color,height,species\n1,red,2,a\n1,red,2\n\n1,red,2,a,b')).toEqual([
				'data.csv row 3 has 3 fields; the header has 4',
				'data.csv row 5 has 5 fields; the header has 4'
			]);
		});

		it('non-numeric values and empty cells, naming row, column and value', () => {
			expect(problemsOf('age,color,height,species\n1,red,2,a\nabc,red,2,a\n1,red, ,b\n"1,5",red,2,a\nNaN,red,1e39,a')).toEqual([
				'data.csv row 3, column "age": "abc" is not a number',
				'data.csv row 4, column "height" is empty: every cell needs a value',
				'data.csv row 5, column "age": "1,5" is not a number (write numbers with a dot for decimals and no thousands separators)',
				'data.csv row 6, column "age": "NaN" is not a number',
				'data.csv row 6, column "height": "1e39" is too large (the limit is about 3.4e38)'
			]);
		});

		it('labels outside the classes and categorical values outside the vocabulary', () => {
			expect(problemsOf('age,color,height,species\n1,purple,2,a\n1,Red,2,c\n1,,2,')).toEqual([
				'data.csv row 2, column "color": "purple" is not one of the values "red", "green", "blue"',
				'data.csv row 3, column "color": "Red" is not one of the values "red", "green", "blue" (did you mean "red"? values are case-sensitive)',
				'data.csv row 3, column "species": the label "c" is not one of the classes "a", "b"',
				'data.csv row 4, column "color" is empty: expected one of "red", "green", "blue"',
				'data.csv row 4, column "species" is empty: expected a class, one of "a", "b"'
			]);
		});

		it('unbalanced quotes', () => {
			expect(problemsOf('age,color,height,species\n1,red,2,a\n1,"red,2,a\n')[0]).toMatch(/^data\.csv at row 3: .*\(check the quotes in that row\)$/);
		});

		it('lists at most 20 problems, then how many more', () => {
			const rows = Array.from({ length: 30 }, () => 'x,red,2,a');
			const problems = problemsOf(['age,color,height,species', ...rows].join('\n'));
			expect(problems).toHaveLength(21);
			expect(problems[0]).toBe('data.csv row 2, column "age": "x" is not a number');
			expect(problems[19]).toBe('data.csv row 21, column "age": "x" is not a number');
			expect(problems[20]).toBe('... and 10 more problems');
			let message = '';
			try {
				prepareCsv(['age,color,height,species', ...rows].join('\n'), task, noHoldOut, 'data.csv');
			} catch (error) {
				message = (error as Error).message;
			}
			expect(message.split('\n')[0]).toBe('21 problems with the data:');
		});
	});
});

describe('encodeRows', () => {
	it('encodes rows like the CSV, accepting numbers or numeric text and ignoring the target', () => {
		const out = encodeRows(
			[
				{ age: 1.5, color: 'red', height: '10' },
				{ age: '-0.25', color: 'green', height: 30, species: 'a' }
			],
			task
		);
		expect(Array.from(out)).toEqual([1.5, 1, 0, 0, 10, -0.25, 0, 1, 0, 30]);
	});

	it('names missing features, unknown keys and bad values', () => {
		expect(() => encodeRows([{ age: 1, color: 'pink', extra: 2 }, { age: Number.NaN, color: 'red', height: 1 }], task)).toThrow(DataImportError);
		try {
			encodeRows([{ age: 1, color: 'pink', extra: 2 }, { age: Number.NaN, color: 'red', height: 1 }], task);
		} catch (error) {
			expect((error as DataImportError).problems).toEqual([
				'row 1: "extra" is not a feature of this task (expected "age", "color", "height")',
				'row 1, feature "color": "pink" is not one of the values "red", "green", "blue"',
				'row 1, feature "height" is missing',
				'row 2, feature "age": "NaN" is not a number'
			]);
		}
	});
});
