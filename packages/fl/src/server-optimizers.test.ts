import { describe, expect, it } from 'vitest';
import { createStrategy, type StrategyConfig } from './strategy';
import { decodeServerOptimizerState, encodeServerOptimizerState, type ServerOptimizerState } from './server-optimizers';

const f32 = (...xs: number[]) => Float32Array.from(xs);

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
	expect(actual.length).toBe(expected.length);
	expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));
}

// One round: every delta with one sample each, so the pseudo-gradient is their plain mean.
function round(config: StrategyConfig, global: Float32Array, deltas: Float32Array[], state?: ServerOptimizerState) {
	const s = createStrategy(config, global.length, state);
	for (const delta of deltas) s.add({ delta, numSamples: 1 });
	const next = s.finish(global);
	if (s.state === undefined) throw new Error('server optimiser strategy exposes no state');
	return { next, state: s.state };
}

// Reddi et al. 2021, Algorithm 2, by hand: g is the averaged delta, v starts at tau^2 = 0.01,
// x += eta * m / (sqrt(v) + tau). eta = 0.1, beta1 = 0.9, beta2 = 0.99, tau = 0.1.
const adaptive = { serverLearningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.1 };

describe('FedAdam', () => {
	it('round 1 and round 2 with the state carried over', () => {
		const config: StrategyConfig = { name: 'fedadam', ...adaptive };
		// g1 = mean([0.2,-0.4],[0.4,0.2]) = [0.3,-0.1]; m = [0.03,-0.01];
		// v = 0.99*0.01 + 0.01*g^2 = [0.0108, 0.01]
		const r1 = round(config, f32(1, -1), [f32(0.2, -0.4), f32(0.4, 0.2)]);
		const x1 = [1 + (0.1 * 0.03) / (Math.sqrt(0.0108) + 0.1), -1 + (0.1 * -0.01) / (Math.sqrt(0.01) + 0.1)];
		expectClose(r1.next, x1);
		expectClose(r1.state.m, [0.03, -0.01]);
		expectClose(r1.state.v ?? [], [0.0108, 0.01]);
		expect(r1.state.round).toBe(1);
		// g2 = [0.1,0.1]; m = 0.9*m + 0.1*g2 = [0.037, 0.001]; v = 0.99*v + 0.01*0.01 = [0.010792, 0.01]
		const r2 = round(config, r1.next, [f32(0.1, 0.1)], r1.state);
		expectClose(r2.next, [
			x1[0] + (0.1 * 0.037) / (Math.sqrt(0.010792) + 0.1),
			x1[1] + (0.1 * 0.001) / (Math.sqrt(0.01) + 0.1)
		]);
		expect(r2.state.round).toBe(2);
		// The first round's state object is left as it was.
		expectClose(r1.state.m, [0.03, -0.01]);
	});

	it('continues identically from a state stored as raw Float32Array bytes', () => {
		const config: StrategyConfig = { name: 'fedadam', ...adaptive };
		const r1 = round(config, f32(1, -1), [f32(0.2, -0.4)]);
		const stored = {
			...r1.state,
			m: new Float32Array(r1.state.m.buffer.slice(0)),
			v: r1.state.v ? new Float32Array(r1.state.v.buffer.slice(0)) : null
		};
		const direct = round(config, r1.next, [f32(0.5, 0.5)], r1.state).next;
		const restored = round(config, r1.next, [f32(0.5, 0.5)], stored).next;
		expect(Array.from(restored)).toEqual(Array.from(direct));
	});
});

describe('FedYogi', () => {
	it('grows v where g^2 > v and shrinks it where g^2 < v', () => {
		// g = [0.3, -0.05]; v0 = 0.01. Coordinate 0: v - g^2 < 0, v = 0.01 + 0.01*0.09 = 0.0109.
		// Coordinate 1: v - g^2 > 0, v = 0.01 - 0.01*0.0025 = 0.009975. m = 0.1*g.
		const r = round({ name: 'fedyogi', ...adaptive }, f32(0, 0), [f32(0.3, -0.05)]);
		expectClose(r.state.v ?? [], [0.0109, 0.009975]);
		expectClose(r.next, [(0.1 * 0.03) / (Math.sqrt(0.0109) + 0.1), (0.1 * -0.005) / (Math.sqrt(0.009975) + 0.1)]);
	});
});

describe('FedAdagrad', () => {
	it('accumulates g^2 into v', () => {
		// v = 0.01 + g^2 = [0.1, 0.0125]
		const r = round({ name: 'fedadagrad', serverLearningRate: 0.1, beta1: 0.9, tau: 0.1 }, f32(0, 0), [f32(0.3, -0.05)]);
		expectClose(r.state.v ?? [], [0.1, 0.0125]);
		expectClose(r.next, [(0.1 * 0.03) / (Math.sqrt(0.1) + 0.1), (0.1 * -0.005) / (Math.sqrt(0.0125) + 0.1)]);
		const r2 = round({ name: 'fedadagrad', serverLearningRate: 0.1, beta1: 0.9, tau: 0.1 }, r.next, [f32(0.1, 0)], r.state);
		expectClose(r2.state.v ?? [], [0.11, 0.0125]);
	});
});

describe('FedAvgM', () => {
	it('m = momentum * m + g; x += eta * m', () => {
		const config: StrategyConfig = { name: 'fedavgm', serverLearningRate: 1, momentum: 0.9 };
		const r1 = round(config, f32(1, -1), [f32(0.5, -0.25)]);
		expectClose(r1.next, [1.5, -1.25]);
		expect(r1.state.v).toBeNull();
		// m = 0.9*[0.5,-0.25] + [0.25,0.5] = [0.7, 0.275]
		const r2 = round(config, r1.next, [f32(0.25, 0.5)], r1.state);
		expectClose(r2.state.m, [0.7, 0.275]);
		expectClose(r2.next, [2.2, -0.975]);
	});

	it('with momentum 0 and eta 1 is FedAvg', () => {
		const r = round({ name: 'fedavgm', serverLearningRate: 1, momentum: 0 }, f32(1, 1), [f32(1, 2), f32(3, -2)]);
		expect(Array.from(r.next)).toEqual([3, 1]);
	});
});

describe('server optimiser state checks', () => {
	it('refuses a state from another optimiser or of another length', () => {
		const r = round({ name: 'fedadam', ...adaptive }, f32(0, 0), [f32(1, 1)]);
		expect(() => createStrategy({ name: 'fedyogi', ...adaptive }, 2, r.state)).toThrow(/fedadam/);
		expect(() => createStrategy({ name: 'fedadam', ...adaptive }, 3, r.state)).toThrow(/length/);
	});
});

describe('server optimiser state bytes', () => {
	it('round-trips every field exactly and rejects truncated input', () => {
		const state = { optimizer: 'fedyogi' as const, round: 7, m: new Float32Array([0.5, -1.25, 3]), v: new Float32Array([1e-6, 2, 0.125]) };
		const bytes = encodeServerOptimizerState(state);
		expect(bytes.byteLength).toBe(12 + 24);
		const back = decodeServerOptimizerState(bytes);
		expect(back.optimizer).toBe('fedyogi');
		expect(back.round).toBe(7);
		expect(Array.from(back.m)).toEqual([0.5, -1.25, 3]);
		expect(Array.from(back.v!)).toEqual(Array.from(state.v));
		const momentum = decodeServerOptimizerState(encodeServerOptimizerState({ optimizer: 'fedavgm', round: 1, m: new Float32Array([2]), v: null }));
		expect(momentum.v).toBeNull();
		expect(() => decodeServerOptimizerState(bytes.subarray(0, 20))).toThrow(/wrong length/);
	});
});
