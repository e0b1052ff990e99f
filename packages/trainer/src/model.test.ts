import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeTf } from './node';
import type { Tf } from './tf';
import { MODEL_SPECS, parameterCount } from './spec';
import { buildModel } from './model';
import { flattenWeights, setFlatWeights } from './weights';

let tf: Tf;
beforeAll(async () => {
	({ tf } = await initNodeTf());
});

describe('buildModel', () => {
	it('builds models whose tfjs parameter count matches the spec', () => {
		for (const spec of [MODEL_SPECS.mlp, MODEL_SPECS.cnn]) {
			const model = buildModel(tf, spec, 7);
			expect(model.countParams()).toBe(parameterCount(spec));
			expect(flattenWeights(model).length).toBe(parameterCount(spec));
			model.dispose();
		}
	});

	it('is deterministic for a seed and differs across seeds', () => {
		const [a, b, c] = [1, 1, 2].map((seed) => buildModel(tf, MODEL_SPECS.mlp, seed));
		const [wa, wb, wc] = [a, b, c].map(flattenWeights);
		expect(wa).toEqual(wb);
		expect(wa).not.toEqual(wc);
		// Layers get different streams: the two 200-wide kernels are not copies.
		expect(wa.subarray(157_000, 157_010)).not.toEqual(wa.subarray(157_200, 157_210));
		[a, b, c].forEach((m) => m.dispose());
	});
});

describe('flat weights', () => {
	it('round-trip through setFlatWeights in getWeights order', () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 3);
		const flat = flattenWeights(model).map((_, i) => Math.sin(i));
		const before = tf.memory().numTensors;
		setFlatWeights(tf, model, flat);
		expect(tf.memory().numTensors).toBe(before);
		expect(flattenWeights(model)).toEqual(flat);
		// First kernel is [784, 200], row-major: element (1, 0) is flat[200].
		expect(model.getWeights()[0].shape).toEqual([784, 200]);
		expect((model.getWeights()[0].arraySync() as number[][])[1][0]).toBeCloseTo(Math.sin(200), 6);
		model.dispose();
	});

	it('refuse a vector of the wrong length', () => {
		const model = buildModel(tf, MODEL_SPECS.mlp, 3);
		expect(() => setFlatWeights(tf, model, new Float32Array(199_209))).toThrow(/199209 values.*199210/);
		model.dispose();
	});
});
