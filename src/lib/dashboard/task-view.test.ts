import type { TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { standardizationRows, taskDetails, taskHeadline } from './task-view';

const tabular: TaskSchema = {
	kind: 'tabular',
	features: [
		{ name: 'b', type: 'numeric' },
		{ name: 'colour', type: 'categorical', values: ['red', 'blue'] },
		{ name: 'a', type: 'numeric' }
	],
	target: 'price',
	objective: { type: 'regression', loss: 'mae' }
};

describe('task view', () => {
	it('sums a task up in one line', () => {
		expect(taskHeadline(tabular)).toBe('Tabular regression (MAE) · 3 features → price');
		expect(taskHeadline({ kind: 'image-classification', classes: ['a', 'b'], width: 32, height: 32, channels: 3 })).toBe(
			'Image classification · 32×32×3 images · 2 classes'
		);
		expect(taskHeadline({ kind: 'time-series', timeColumn: 't', valueColumns: ['co2'], target: 'co2', window: 26, horizon: 1, loss: 'mse' })).toBe(
			'Time-series forecast · 26 steps of 1 value column → next 1 of co2 (MSE)'
		);
	});

	it('lists the details', () => {
		expect(taskDetails(tabular)).toEqual([
			['Features', 'b (numeric), colour (one of red, blue), a (numeric)'],
			['Target', 'price'],
			['Loss', 'MAE']
		]);
	});

	it('orders the scaling by the task\'s columns', () => {
		const rows = standardizationRows({ columns: { price: { mean: 10, std: 2 }, a: { mean: 1, std: 1 }, b: { mean: 0, std: 3 } }, rows: 5, devices: 2 }, tabular);
		expect(rows.map((r) => r.column)).toEqual(['b', 'a', 'price']);
		expect(rows[2]).toEqual({ column: 'price', mean: 10, std: 2 });
	});
});
