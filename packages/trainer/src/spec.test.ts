import { describe, expect, it } from 'vitest';
import { MODEL_SPECS, type ModelSpec, layerShapes, parameterCount } from './spec';

describe('model specs', () => {
	it('count the parameters of the FedAvg paper models', () => {
		expect(parameterCount(MODEL_SPECS.mlp)).toBe(199_210);
		expect(parameterCount(MODEL_SPECS.cnn)).toBe(1_663_370);
	});

	it('infer the CNN shapes (same padding, pool stride = pool size)', () => {
		expect(layerShapes(MODEL_SPECS.cnn)).toEqual([[28, 28, 32], [14, 14, 32], [14, 14, 64], [7, 7, 64], [3136], [512], [10]]);
	});

	it('reject a dense layer on an unflattened input', () => {
		const bad: ModelSpec = { name: 'bad', inputShape: [28, 28, 1], layers: [{ type: 'dense', units: 10, activation: 'softmax' }] };
		expect(() => parameterCount(bad)).toThrow(/flat input/);
	});

	it('are plain JSON', () => {
		expect(JSON.parse(JSON.stringify(MODEL_SPECS))).toEqual(MODEL_SPECS);
	});
});
