import { ProtocolError, type Standardization, type TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { predictionInputs } from './predict-inputs';

const tabular: TaskSchema = {
	kind: 'tabular',
	features: [
		{ name: 'site', type: 'categorical', values: ['a', 'b'] },
		{ name: 'age', type: 'numeric' }
	],
	target: 'y',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};
const forecast: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['v', 'w'], target: 'v', window: 2, horizon: 1, loss: 'mse' };

async function refusal(run: () => Promise<unknown>): Promise<ProtocolError> {
	try {
		await run();
	} catch (e) {
		expect(e).toBeInstanceOf(ProtocolError);
		return e as ProtocolError;
	}
	throw new Error('expected a ProtocolError');
}

describe('predictionInputs', () => {
	it('standardises numeric inputs with the project\'s scaling, one-hot positions untouched', async () => {
		const standardization: Standardization = { columns: { age: { mean: 40, std: 10 } }, rows: 10, devices: 2 };
		const { inputs, count } = await predictionInputs({ rows: [{ site: 'b', age: 55 }] }, tabular, standardization);
		expect(count).toBe(1);
		expect(Array.from(inputs)).toEqual([0, 1, 1.5]);
	});

	it('refuses a value that standardisation takes beyond float32 as the client\'s error, naming where it is', async () => {
		// 3e38 fits a float32, but (3e38 - 0) / 0.5 does not: the model would be fed Infinity.
		const standardization: Standardization = { columns: { age: { mean: 0, std: 0.5 }, v: { mean: 0, std: 0.25 }, w: { mean: 0, std: 1 } }, rows: 10, devices: 2 };
		const row = await refusal(() => predictionInputs({ rows: [{ site: 'a', age: 1 }, { site: 'a', age: 3e38 }] }, tabular, standardization));
		expect(row.code).toBe('SCHEMA_INVALID');
		expect(row.message).toBe('row 2, feature "age": 3e+38 is too far from the mean the model was trained with (0, std 0.5) to be scaled');
		const window = await refusal(() => predictionInputs({ windows: [[[1, 1], [-2e38, 1]]] }, forecast, standardization));
		expect(window.message).toBe('window 1, row 2, column "v": -2e+38 is too far from the mean the model was trained with (0, std 0.25) to be scaled');
	});
});
