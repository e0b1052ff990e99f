import type { Standardization, TabularTask, TimeSeriesTask } from '@qflare/protocol';
import { demoTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { targetScale, toModelInputs, toTrainingData, unscalableInputs } from './standardize';

const f = Math.fround;

const tabular: TabularTask = {
	kind: 'tabular',
	features: [
		{ name: 'age', type: 'numeric' },
		{ name: 'color', type: 'categorical', values: ['red', 'blue'] },
		{ name: 'height', type: 'numeric' }
	],
	target: 'price',
	objective: { type: 'regression', loss: 'mse' }
};
const standardization: Standardization = {
	columns: { age: { mean: 2, std: 0.5 }, height: { mean: 25, std: 12.5 }, price: { mean: 100, std: 20 } },
	rows: 40,
	devices: 3
};

describe('toTrainingData', () => {
	it('standardises numeric features and regression targets, leaving one-hot positions alone', () => {
		const split = {
			count: 2,
			inputs: new Float32Array([1.5, 1, 0, 10, 4, 0, 1, 50]),
			targets: new Float32Array([140, 90])
		};
		const data = toTrainingData(split, tabular, standardization);
		expect(data.count).toBe(2);
		expect(data.images).toEqual(new Float32Array([-1, 1, 0, f(-1.2), 4, 0, 1, 2]));
		expect(data.labels).toEqual(new Float32Array([2, -0.5]));
		// The prepared split is not changed.
		expect(split.inputs[0]).toBe(1.5);
		expect(split.targets[0]).toBe(140);
	});

	it('keeps class indices for classification and passes values through without statistics', () => {
		const classification: TabularTask = { ...tabular, target: 'kind', objective: { type: 'classification', classes: ['x', 'y'] } };
		const split = { count: 1, inputs: new Float32Array([3, 0, 1, 25]), targets: new Uint8Array([1]) };
		const data = toTrainingData(split, classification, standardization);
		expect(data.images).toEqual(new Float32Array([2, 0, 1, 0]));
		expect(data.labels).toBe(split.targets);
		expect(toTrainingData(split, classification, null).images).toBe(split.inputs);
	});

	it('standardises every time-series position by its value column, and the targets by the target column', () => {
		const series: TimeSeriesTask = { kind: 'time-series', timeColumn: 't', valueColumns: ['x', 'y'], target: 'y', window: 2, horizon: 2, loss: 'mae' };
		const scales: Standardization = { columns: { x: { mean: 10, std: 2 }, y: { mean: 0, std: 4 } }, rows: 9, devices: 1 };
		const split = { count: 1, inputs: new Float32Array([12, 8, 6, -4]), targets: new Float32Array([2, 6]) };
		const data = toTrainingData(split, series, scales);
		expect(data.images).toEqual(new Float32Array([1, 2, -2, -1]));
		expect(data.labels).toEqual(new Float32Array([0.5, 1.5]));
		expect(targetScale(series, scales)).toEqual({ mean: 0, std: 4 });
	});

	it('passes image pixels through', () => {
		const split = { count: 1, inputs: new Uint8Array(784).fill(9), targets: new Uint8Array([3]) };
		const data = toTrainingData(split, demoTask('mnist'), null);
		expect(data.images).toBe(split.inputs);
		expect(data.labels).toBe(split.targets);
	});

	it('says which column has no statistics, and treats a zero std as 1', () => {
		const partial: Standardization = { columns: { age: { mean: 0, std: 0 } }, rows: 1, devices: 1 };
		expect(() => toTrainingData({ count: 1, inputs: new Float32Array(4), targets: new Float32Array(1) }, tabular, partial)).toThrow(
			'the standardization has no statistics for the column "height"'
		);
		const constant: Standardization = { ...partial, columns: { age: { mean: 5, std: 0 }, height: { mean: 0, std: 1 }, price: { mean: 0, std: 1 } } };
		expect(toTrainingData({ count: 1, inputs: new Float32Array([7, 0, 0, 0]), targets: new Float32Array(1) }, tabular, constant).images[0]).toBe(2);
	});
});

describe('toModelInputs', () => {
	it('scales inputs without targets exactly as toTrainingData does', () => {
		const inputs = new Float32Array([1.5, 1, 0, 10, 4, 0, 1, 50]);
		expect(toModelInputs(inputs, 2, tabular, standardization)).toEqual(toTrainingData({ count: 2, inputs, targets: new Float32Array(2) }, tabular, standardization).images);
		expect(toModelInputs(inputs, 2, tabular, standardization)).toEqual(new Float32Array([-1, 1, 0, f(-1.2), 4, 0, 1, 2]));
		expect(inputs[0]).toBe(1.5);
		expect(toModelInputs(inputs, 2, tabular, null)).toBe(inputs);
	});
});

describe('unscalableInputs', () => {
	const tiny: Standardization = { ...standardization, columns: { ...standardization.columns, age: { mean: 0, std: 0.5 }, v: { mean: 0, std: 0.25 }, w: { mean: 0, std: 1 } } };
	const series: TimeSeriesTask = { kind: 'time-series', timeColumn: 't', valueColumns: ['v', 'w'], target: 'v', window: 2, horizon: 1, loss: 'mse' };
	const problemsOf = (raw: Float32Array, count: number, task: TabularTask | TimeSeriesTask) => unscalableInputs(raw, toModelInputs(raw, count, task, tiny), task, tiny);

	it('names the row and feature, or window, row and column, of a value scaling takes past float32', () => {
		// 3e38 fits a float32, but 3e38 / 0.5 does not.
		expect(problemsOf(new Float32Array([1, 1, 0, 25, 3e38, 0, 1, 25]), 2, tabular)).toEqual([
			'row 2, feature "age": 3e+38 is too far from the mean the model was trained with (0, std 0.5) to be scaled'
		]);
		expect(problemsOf(new Float32Array([1, 1, -2e38, 1]), 1, series)).toEqual([
			'window 1, row 2, column "v": -2e+38 is too far from the mean the model was trained with (0, std 0.25) to be scaled'
		]);
	});

	it('finds nothing wrong with finite scaled values, images or unscaled inputs', () => {
		expect(problemsOf(new Float32Array([1, 1, 0, 25]), 1, tabular)).toEqual([]);
		const pixels = new Uint8Array(784);
		expect(unscalableInputs(pixels, pixels, demoTask('mnist'), tiny)).toEqual([]);
		const huge = new Float32Array([3e38, 1, 0, 25]);
		expect(unscalableInputs(huge, huge, tabular, null)).toEqual([]);
	});
});

describe('targetScale', () => {
	it('is the target column for regression and null for classification or without statistics', () => {
		expect(targetScale(tabular, standardization)).toEqual({ mean: 100, std: 20 });
		expect(targetScale(tabular, null)).toBeNull();
		expect(targetScale({ ...tabular, objective: { type: 'classification', classes: ['a', 'b'] } }, standardization)).toBeNull();
		expect(targetScale(demoTask('fashion-mnist'), standardization)).toBeNull();
	});
});
