import { describe, expect, it } from 'vitest';
import { checkData, gatherBatch, gatherInputs } from './data';

describe('gatherBatch', () => {
	it('scales pixels by 1/255 and gathers class indices in the given order', () => {
		const data = { count: 3, images: Uint8Array.from([0, 255, 51, 102, 204, 255]), labels: Uint8Array.from([2, 0, 1]) };
		const { x, y, n } = gatherBatch(data, 2, [2, 0, 1], 0, 2);
		expect(n).toBe(2);
		expect(x).toEqual(Float32Array.from([204 / 255, 1, 0, 1]));
		expect(y).toEqual(Int32Array.from([1, 2]));
	});

	it('uses float inputs as they are and gathers regression targets row by row', () => {
		const data = { count: 3, images: Float32Array.from([-1.5, 0.25, 3, 4, 5, 6]), labels: Float32Array.from([10, 11, 20, 21, 30, 31]) };
		const { x, y, n } = gatherBatch(data, 2, [2, 0, 1], 1, 3);
		expect(n).toBe(2);
		expect(x).toEqual(Float32Array.from([-1.5, 0.25, 3, 4]));
		expect(y).toEqual(Float32Array.from([10, 11, 20, 21]));
		expect(gatherInputs(data.images, 2, null, 2, 3)).toEqual(Float32Array.from([5, 6]));
	});
});

describe('checkData', () => {
	const classes = { type: 'classification', numClasses: 3 } as const;
	const regression = { type: 'regression', loss: 'mse', outputs: 2 } as const;

	it('accepts data that fits the objective', () => {
		expect(() => checkData({ count: 2, images: new Uint8Array(4), labels: Uint8Array.from([0, 2]) }, 2, classes)).not.toThrow();
		expect(() => checkData({ count: 2, images: new Float32Array(4), labels: new Float32Array(4) }, 2, regression)).not.toThrow();
	});

	it('names what is wrong', () => {
		expect(() => checkData({ count: 0, images: new Uint8Array(0), labels: new Uint8Array(0) }, 2, classes)).toThrow('data set is empty');
		expect(() => checkData({ count: 2, images: new Uint8Array(3), labels: new Uint8Array(2) }, 2, classes)).toThrow('images has 3 values, expected 2 x 2');
		expect(() => checkData({ count: 2, images: new Uint8Array(4), labels: Uint8Array.from([0, 3]) }, 2, classes)).toThrow('label 3 at 1 is not below 3');
		expect(() => checkData({ count: 2, images: new Uint8Array(4), labels: new Float32Array(2) }, 2, classes)).toThrow('classification labels must be a Uint8Array of class indices');
		expect(() => checkData({ count: 2, images: new Float32Array(4), labels: new Uint8Array(4) }, 2, regression)).toThrow('regression targets must be a Float32Array');
		expect(() => checkData({ count: 2, images: new Float32Array(4), labels: new Float32Array(2) }, 2, regression)).toThrow('targets has 2 values, expected 2 x 2');
		expect(() => checkData({ count: 2, images: Float32Array.from([0, 0, 0, NaN]), labels: new Float32Array(4) }, 2, regression)).toThrow('input value NaN at row 1, column 1 is not finite');
	});
});
