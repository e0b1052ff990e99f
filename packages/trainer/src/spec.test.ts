import { describe, expect, it } from 'vitest';
import { demoTask, MODELS_FOR_TASK, ModelName, type TaskSchema } from '@qflare/protocol';
import { MODEL_SPECS, type ModelSpec, layerShapes, modelSpec, outputSize, parameterCount, parameterSegments } from './spec';

const images32: TaskSchema = { kind: 'image-classification', classes: ['a', 'b', 'c', 'd', 'e'], width: 32, height: 32, channels: 3 };
const features = [
	{ name: 'age', type: 'numeric' as const },
	{ name: 'dose', type: 'numeric' as const },
	{ name: 'weight', type: 'numeric' as const },
	{ name: 'site', type: 'categorical' as const, values: ['n', 's', 'e', 'w'] }
];
// 3 numeric + 4 one-hot = 7 inputs.
const tabularClasses: TaskSchema = { kind: 'tabular', features, target: 'y', objective: { type: 'classification', classes: ['lo', 'mid', 'hi'] } };
const tabularRegression: TaskSchema = { kind: 'tabular', features, target: 'y', objective: { type: 'regression', loss: 'mae' } };
const series: TaskSchema = { kind: 'time-series', timeColumn: 't', valueColumns: ['co2', 'temp'], target: 'co2', window: 24, horizon: 3, loss: 'mse' };

describe('model specs', () => {
	it('count the parameters of the FedAvg paper models', () => {
		expect(parameterCount(MODEL_SPECS.mlp)).toBe(199_210);
		expect(parameterCount(MODEL_SPECS.cnn)).toBe(1_663_370);
	});

	it('list the weight tensors\' sizes in getWeights() order', () => {
		expect(parameterSegments(MODEL_SPECS.mlp)).toEqual([784 * 200, 200, 200 * 200, 200, 200 * 10, 10]);
		expect(parameterSegments(MODEL_SPECS.cnn)).toEqual([5 * 5 * 32, 32, 5 * 5 * 32 * 64, 64, 3136 * 512, 512, 5120, 10]);
		expect(parameterSegments(modelSpec('gru', series))).toEqual([2 * 96, 32 * 96, 96, 32 * 3, 3]);
	});

	it('infer the CNN shapes (same padding, pool stride = pool size)', () => {
		expect(layerShapes(MODEL_SPECS.cnn)).toEqual([[28, 28, 32], [14, 14, 32], [14, 14, 64], [7, 7, 64], [3136], [512], [10]]);
	});

	it('reject a dense layer on an unflattened input', () => {
		const bad: ModelSpec = {
			name: 'bad',
			inputShape: [28, 28, 1],
			layers: [{ type: 'dense', units: 10, activation: 'softmax' }],
			objective: { type: 'classification', numClasses: 10 }
		};
		expect(() => parameterCount(bad)).toThrow(/flat input/);
	});

	it('reject a head that does not match the objective', () => {
		const spec = (activation: 'softmax' | 'linear', units: number, objective: ModelSpec['objective']): ModelSpec => ({
			name: 'head',
			inputShape: [4],
			layers: [{ type: 'dense', units, activation }],
			objective
		});
		expect(() => layerShapes(spec('linear', 3, { type: 'classification', numClasses: 3 }))).toThrow(/classifies into 3 classes but ends in 3 linear units/);
		expect(() => layerShapes(spec('softmax', 2, { type: 'classification', numClasses: 3 }))).toThrow(/ends in 2 softmax units, not 3 softmax/);
		expect(() => layerShapes(spec('softmax', 1, { type: 'regression', loss: 'mse', outputs: 1 }))).toThrow(/predicts 1 values but ends in 1 softmax/);
		expect(() => layerShapes({ ...spec('linear', 1, { type: 'regression', loss: 'mse', outputs: 1 }), layers: [] })).toThrow(/must end in a dense layer/);
	});

	it('are plain JSON', () => {
		expect(JSON.parse(JSON.stringify(MODEL_SPECS))).toEqual(MODEL_SPECS);
	});
});

describe('modelSpec', () => {
	it('gives the demo models exactly for both demo data sets', () => {
		for (const dataset of ['mnist', 'fashion-mnist'] as const) {
			expect(modelSpec('mlp', demoTask(dataset))).toEqual(MODEL_SPECS.mlp);
			expect(modelSpec('cnn', demoTask(dataset))).toEqual(MODEL_SPECS.cnn);
		}
	});

	it('builds every model that fits each task kind and refuses the others with a clear error', () => {
		const tasks: Record<TaskSchema['kind'], TaskSchema> = { 'image-classification': images32, tabular: tabularClasses, 'time-series': series };
		for (const [kind, task] of Object.entries(tasks) as [TaskSchema['kind'], TaskSchema][]) {
			for (const model of ModelName.options) {
				if (MODELS_FOR_TASK[kind].includes(model)) {
					const spec = modelSpec(model, task);
					expect(spec.name).toBe(model);
					expect(parameterCount(spec)).toBeGreaterThan(0);
					expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
				} else {
					expect(() => modelSpec(model, task)).toThrow(new RegExp(`model ${model} does not fit a ${kind} task; it takes ${MODELS_FOR_TASK[kind].join(', ')}`));
				}
			}
		}
	});

	it('sizes image models from the task: cnn-small on 32x32x3, 5 classes', () => {
		const spec = modelSpec('cnn-small', images32);
		expect(spec.inputShape).toEqual([32, 32, 3]);
		expect(layerShapes(spec)).toEqual([[32, 32, 16], [16, 16, 16], [16, 16, 32], [8, 8, 32], [2048], [64], [5]]);
		// conv 3*3*3*16+16, conv 3*3*16*32+32, dense 2048*64+64, head 64*5+5.
		expect(parameterCount(spec)).toBe(448 + 4640 + 131_136 + 325);
		expect(spec.objective).toEqual({ type: 'classification', numClasses: 5 });
		expect(modelSpec('mlp', images32).inputShape).toEqual([3072]);
		expect(parameterCount(modelSpec('mlp', images32))).toBe(3072 * 200 + 200 + 200 * 200 + 200 + 200 * 5 + 5);
	});

	it('sizes tabular models from the encoded features and the objective', () => {
		expect(modelSpec('logistic', tabularClasses)).toEqual({
			name: 'logistic',
			inputShape: [7],
			layers: [{ type: 'dense', units: 3, activation: 'softmax' }],
			objective: { type: 'classification', numClasses: 3 }
		});
		expect(parameterCount(modelSpec('logistic', tabularClasses))).toBe(7 * 3 + 3);
		expect(parameterCount(modelSpec('mlp', tabularClasses))).toBe(7 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3);
		const regression = modelSpec('mlp', tabularRegression);
		expect(regression.objective).toEqual({ type: 'regression', loss: 'mae', outputs: 1 });
		expect(regression.layers.at(-1)).toEqual({ type: 'dense', units: 1, activation: 'linear' });
		expect(parameterCount(regression)).toBe(7 * 64 + 64 + 64 * 32 + 32 + 32 + 1);
	});

	it('sizes time-series models from window, value columns and horizon', () => {
		const conv = modelSpec('conv1d', series);
		expect(conv.inputShape).toEqual([24, 2]);
		expect(layerShapes(conv)).toEqual([[24, 32], [12, 32], [12, 32], [384], [32], [3]]);
		// conv 3*2*32+32, conv 3*32*32+32, dense 384*32+32, head 32*3+3.
		expect(parameterCount(conv)).toBe(224 + 3104 + 12_320 + 99);
		const gru = modelSpec('gru', series);
		expect(layerShapes(gru)).toEqual([[32], [3]]);
		// GRU (tfjs, resetAfter false): 3 * (units * (inputs + units) + units).
		expect(parameterCount(gru)).toBe(3 * (32 * (2 + 32) + 32) + 32 * 3 + 3);
		expect(outputSize(gru)).toBe(3);
		expect(gru.objective).toEqual({ type: 'regression', loss: 'mse', outputs: 3 });
		// A window too short to pool keeps its length.
		const short = modelSpec('conv1d', { ...series, window: 2 } as TaskSchema);
		expect(short.layers.map((l) => l.type)).toEqual(['conv1d', 'conv1d', 'flatten', 'dense', 'dense']);
		expect(layerShapes(short)[2]).toEqual([64]);
	});
});
