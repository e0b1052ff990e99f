import type { TabularTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { createRng } from '@qflare/fl';
import { prepareCsv } from './prepare-csv';
import { encodePrepared } from './prepared-codec';

describe('privacy guard', () => {
	it('the prepared output of a CSV holds numbers and schema names, no text from the file', () => {
		const task: TabularTask = {
			kind: 'tabular',
			features: [
				{ name: 'systolic', type: 'numeric' },
				{ name: 'ward', type: 'categorical', values: ['east', 'west'] }
			],
			target: 'cost',
			objective: { type: 'regression', loss: 'mae' }
		};
		const rows = [
			['131337.25', 'east', '90817.5'],
			['27182.818', 'west', '31415.926'],
			['16180.339', 'east', '14142.135'],
			['17320.508', 'west', '22360.679']
		];
		const text = ['systolic,ward,cost', ...rows.map((r) => r.join(','))].join('\n');
		const data = prepareCsv(text, task, { holdOutFraction: 0.25, seed: 4 }, 'private.csv');
		const schemaNames = new Set(['systolic', 'ward', 'cost', 'east', 'west']);
		const cells = rows.flat().filter((cell) => !schemaNames.has(cell));
		const cached = new TextDecoder('latin1').decode(encodePrepared(data));
		const reported = JSON.stringify({ stats: data.stats, labelHistogram: data.labelHistogram });
		for (const cell of cells) {
			expect(cached).not.toContain(cell);
			expect(reported).not.toContain(cell);
		}
		for (const split of [data.train, data.holdOut!]) {
			expect(split.inputs).toBeInstanceOf(Float32Array);
			expect(split.targets).toBeInstanceOf(Float32Array);
		}
		// The preview does show the rows, locally; it is the part the cache drops.
		expect(data.summary.preview[0]).toEqual(rows[0]);
	});
});

describe('prepareCsv at a realistic size', () => {
	it('prepares 10,000 rows x 30 columns correctly', () => {
		const numeric = Array.from({ length: 28 }, (_, i) => `f${i}`);
		const task: TabularTask = {
			kind: 'tabular',
			features: [...numeric.map((name) => ({ name, type: 'numeric' as const })), { name: 'region', type: 'categorical', values: ['a', 'b', 'c', 'd'] }],
			target: 'label',
			objective: { type: 'classification', classes: ['neg', 'pos'] }
		};
		const rng = createRng(2024);
		const rowCount = 10_000;
		const values = new Float64Array(rowCount * 28);
		const lines = [[...numeric, 'region', 'label'].join(',')];
		for (let r = 0; r < rowCount; r++) {
			const cells: string[] = [];
			for (let c = 0; c < 28; c++) {
				// Two decimals, so every value is exact enough to check.
				const v = Math.round((rng.next() * 200 - 100) * 100) / 100 + 0; // + 0: no -0
				values[r * 28 + c] = v;
				cells.push(String(v));
			}
			lines.push([...cells, 'abcd'[r % 4], r % 3 === 0 ? 'pos' : 'neg'].join(','));
		}
		const text = lines.join('\r\n');

		const started = performance.now();
		const data = prepareCsv(text, task, { holdOutFraction: 0.15, seed: 7 }, 'big.csv');
		const elapsed = performance.now() - started;
		console.log(`prepareCsv: 10,000 rows x 30 columns (${(text.length / 1e6).toFixed(2)} MB) in ${elapsed.toFixed(0)} ms`);

		expect(data.train.count).toBe(8_500);
		expect(data.holdOut!.count).toBe(1_500);
		const width = 32;
		// Find each training row's source row by its first three values, then compare whole rows.
		const key = (a: number, b: number, c: number) => `${a}|${b}|${c}`;
		const rowOf = new Map<string, number>();
		for (let r = 0; r < rowCount; r++) rowOf.set(key(Math.fround(values[r * 28]), Math.fround(values[r * 28 + 1]), Math.fround(values[r * 28 + 2])), r);
		expect(rowOf.size).toBe(rowCount);
		const seen = new Set<number>();
		const trainInputs = data.train.inputs;
		const expectedInputs = new Float32Array(trainInputs.length);
		const expectedTargets = new Uint8Array(data.train.count);
		for (let i = 0; i < data.train.count; i++) {
			const r = rowOf.get(key(trainInputs[i * width], trainInputs[i * width + 1], trainInputs[i * width + 2]));
			if (r === undefined) throw new Error(`training row ${i} matches no generated row`);
			seen.add(r);
			for (let c = 0; c < 28; c++) expectedInputs[i * width + c] = values[r * 28 + c];
			expectedInputs[i * width + 28 + (r % 4)] = 1;
			expectedTargets[i] = r % 3 === 0 ? 1 : 0;
		}
		// One comparison, not 272,000 expect calls; the index says where a difference is.
		expect(trainInputs.findIndex((v, i) => v !== expectedInputs[i])).toBe(-1);
		expect(trainInputs.length).toBe(expectedInputs.length);
		expect(data.train.targets).toEqual(expectedTargets);
		expect(seen.size).toBe(8_500);
		// Classes of the training rows only (all 10,000 rows hold 6,666 "neg" and 3,334 "pos").
		const pos = [...seen].filter((r) => r % 3 === 0).length;
		expect(pos).toBe(2_850);
		expect(data.labelHistogram).toEqual([5_650, 2_850]);
		// Statistics of the first column over exactly the training rows.
		let sum = 0;
		for (const r of seen) sum += Math.fround(values[r * 28]);
		expect(data.stats.columns.f0.count).toBe(8_500);
		expect(data.stats.columns.f0.sum).toBeCloseTo(sum, 6);
		expect(Object.keys(data.stats.columns)).toEqual(numeric);
	});
});
