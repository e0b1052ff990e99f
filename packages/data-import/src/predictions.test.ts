import type { TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { toPredictions } from './predictions';

describe('toPredictions', () => {
	const images: TaskSchema = { kind: 'image-classification', classes: ['cat', 'dog', 'bird'], width: 4, height: 4, channels: 1 };
	const forecast: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['v'], target: 'v', window: 4, horizon: 2, loss: 'mse' };

	it('names the most probable class and every probability', () => {
		const outputs = Float32Array.from([0.25, 0.5, 0.25, 0.75, 0.125, 0.125]);
		expect(toPredictions(outputs, 2, images, null)).toEqual([
			{ label: 'dog', probabilities: { cat: 0.25, dog: 0.5, bird: 0.25 } },
			{ label: 'cat', probabilities: { cat: 0.75, dog: 0.125, bird: 0.125 } }
		]);
	});

	it('turns standardised values back into target units', () => {
		const outputs = Float32Array.from([0, 1, -0.5, 2]);
		expect(toPredictions(outputs, 2, forecast, { mean: 300, std: 4 })).toEqual([{ values: [300, 304] }, { values: [298, 308] }]);
		expect(toPredictions(outputs, 2, forecast, null)).toEqual([{ values: [0, 1] }, { values: [-0.5, 2] }]);
	});

	it('refuses outputs of the wrong size', () => {
		expect(() => toPredictions(new Float32Array(5), 2, images, null)).toThrow('the model gave 5 outputs for 2 inputs; expected 3 per input');
	});
});
