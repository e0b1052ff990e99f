import { describe, expect, it } from 'vitest';
import {
	PARTIAL_AGGREGATE_LAYOUTS,
	decodePartialAggregate,
	encodePartialAggregate,
	type PartialAggregate
} from './partial-aggregate';
import {
	STRATEGY_NAMES,
	createStrategy,
	type AggregationStrategy,
	type ClientUpdate,
	type StrategyConfig,
	type StrategyName
} from './strategy';

const f32 = (...xs: number[]) => Float32Array.from(xs);

const configs: Record<StrategyName, StrategyConfig> = {
	fedavg: { name: 'fedavg' },
	fednova: { name: 'fednova' },
	fedavgm: { name: 'fedavgm', serverLearningRate: 1, momentum: 0.9 },
	fedadagrad: { name: 'fedadagrad', serverLearningRate: 0.1 },
	fedadam: { name: 'fedadam', serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 },
	fedyogi: { name: 'fedyogi', serverLearningRate: 0.01 },
	median: { name: 'median' },
	'trimmed-mean': { name: 'trimmed-mean', trimFraction: 0.1 },
	krum: { name: 'krum', byzantine: 1 },
	'multi-krum': { name: 'multi-krum', byzantine: 1, selected: 2 },
	perffedavg: { name: 'perffedavg', alpha: 0.25 },
	// C = 4 clips updates 2 and 5 (norms ~4.59 and ~4.39), so clipping is exercised.
	'dp-fedavg': { name: 'dp-fedavg', clipNorm: 4, noiseMultiplier: 1, expectedClients: 10 }
};

// Dyadic values and weights: every Float64 running sum is exact, so any split gives the same
// bits. (Clipped DP deltas are Float32, which Float64 also sums exactly at these magnitudes.)
const updates: ClientUpdate[] = [
	{ delta: f32(1, -2, 0.5, 3), numSamples: 10, steps: 2, valAccuracy: 0.5 },
	{ delta: f32(0.25, 4, -1, 2), numSamples: 20, steps: 4, valAccuracy: 0.75 },
	{ delta: f32(-3, 1, 2, -0.5), numSamples: 5, steps: 1, valAccuracy: 0.25 },
	{ delta: f32(2, 2, -2, 1), numSamples: 15, steps: 8, valAccuracy: 1 },
	{ delta: f32(0, -1, 1.5, -4), numSamples: 30, steps: 2, valAccuracy: 0.5 }
];
const global = f32(0.5, -0.5, 1, 0);

// The same draws for every strategy built, so the leader's noise equals the single run's.
const fixedGaussian = () => {
	const draws = [0.5, -1, 0.25, 2];
	let k = 0;
	return () => draws[k++ % draws.length];
};

const build = (config: StrategyConfig): AggregationStrategy => createStrategy(config, 4, undefined, { gaussian: fixedGaussian() });

function single(config: StrategyConfig): { strategy: AggregationStrategy; result: Float32Array } {
	const strategy = build(config);
	for (const u of updates) strategy.add(u);
	return { strategy, result: strategy.finish(global) };
}

// Instance A folds updates 0-1, instance B update 2, the leader 3-4 and then merges A and B.
function hierarchical(config: StrategyConfig, viaBytes: boolean): { strategy: AggregationStrategy; result: Float32Array } {
	const [a, b, leader] = [build(config), build(config), build(config)];
	updates.slice(0, 2).forEach((u) => a.add(u));
	b.add(updates[2]);
	updates.slice(3).forEach((u) => leader.add(u));
	for (const instance of [a, b]) {
		const p = instance.partial();
		if (p === null) throw new Error('expected running sums');
		leader.merge(viaBytes ? decodePartialAggregate(encodePartialAggregate(p), { strategy: config.name, length: 4 }) : p);
	}
	expect(leader.count).toBe(5);
	return { strategy: leader, result: leader.finish(global) };
}

describe('hierarchical aggregation', () => {
	it('covers every strategy name', () => {
		expect(Object.keys(configs).sort()).toEqual([...STRATEGY_NAMES].sort());
	});

	for (const name of STRATEGY_NAMES) {
		const config = configs[name];
		if (PARTIAL_AGGREGATE_LAYOUTS[name] === null) {
			it(`${name} keeps updates: partial() is null and merge() throws`, () => {
				const s = build(config);
				s.add(updates[0]);
				expect(s.keepsUpdates).toBe(true);
				expect(s.partial()).toBeNull();
				const fedavgLike: PartialAggregate = { strategy: name, count: 1, sums: [new Float64Array(4)], scalars: [1] };
				expect(() => s.merge(fedavgLike)).toThrow(/keeps every update/);
				expect(s.count).toBe(1);
			});
			continue;
		}
		it(`${name}: merged partials give the single-instance result bit for bit`, () => {
			const expected = single(config);
			for (const viaBytes of [false, true]) {
				const merged = hierarchical(config, viaBytes);
				expect(Array.from(merged.result)).toEqual(Array.from(expected.result));
				expect(merged.strategy.state).toEqual(expected.strategy.state);
			}
		});
	}

	it('fedavg gives the hand-computed mean', () => {
		// Total weight 80; weighted sums [30, 65, 10, -37.5].
		const { result } = hierarchical(configs.fedavg, true);
		expect(Array.from(result)).toEqual([0.5 + 0.375, -0.5 + 0.8125, 1 + 0.125, -0.46875]);
	});

	it('dp-fedavg without expectedClients divides by the merged count', () => {
		const config: StrategyConfig = { name: 'dp-fedavg', clipNorm: 4, noiseMultiplier: 0.5 };
		const expected = single(config).result;
		const merged = hierarchical(config, false).result;
		expect(Array.from(merged)).toEqual(Array.from(expected));
		// With no noise: sum of clipped deltas / 5; only update 2 has a non-zero first value and
		// is clipped (norm sqrt(21.0625)).
		const quiet = hierarchical({ ...config, noiseMultiplier: 0 }, false).result;
		expect(quiet[0]).toBeCloseTo(0.5 + (1 + 0.25 * (4 / Math.sqrt(21.0625)) - 3 + 2) / 5, 6);
	});

	it('dp-fedavg refuses sums clipped to another bound', () => {
		const other = build({ name: 'dp-fedavg', clipNorm: 8, noiseMultiplier: 1 });
		other.add(updates[0]);
		const leader = build({ name: 'dp-fedavg', clipNorm: 4, noiseMultiplier: 1 });
		const p = other.partial();
		expect(p).not.toBeNull();
		if (p !== null) expect(() => leader.merge(p)).toThrow(/clipped to 8, expected 4/);
	});

	it('merges into an empty leader and accepts an empty instance', () => {
		const expected = single(configs.fednova).result;
		const [a, empty, leader] = [build(configs.fednova), build(configs.fednova), build(configs.fednova)];
		updates.forEach((u) => a.add(u));
		for (const s of [empty, a]) {
			const p = s.partial();
			if (p !== null) leader.merge(p);
		}
		expect(leader.count).toBe(5);
		expect(Array.from(leader.finish(global))).toEqual(Array.from(expected));
	});

	it('partial() is a copy', () => {
		const s = build(configs.fedavg);
		s.add(updates[0]);
		const p = s.partial();
		p?.sums[0].fill(100);
		expect(Array.from(s.partial()?.sums[0] ?? [])).toEqual([10, -20, 5, 30]);
	});

	it('merge() throws after finish, on another strategy, on another length, and on bad sums', () => {
		const source = build(configs.fedavg);
		source.add(updates[0]);
		const p = source.partial() as PartialAggregate;

		const finished = build(configs.fedavg);
		finished.add(updates[1]);
		finished.finish(global);
		expect(() => finished.merge(p)).toThrow(/already aggregated/);

		expect(() => build(configs.fedavgm).merge(p)).toThrow(/cannot merge a fedavg/);
		expect(() => createStrategy(configs.fedavg, 3).merge(p)).toThrow(/4 values, expected 3/);
		expect(() => build(configs.fedavg).merge({ ...p, scalars: [] })).toThrow(/expected 1 scalars/);
		expect(() => build(configs.fedavg).merge({ ...p, count: 1.5 })).toThrow(/count/);
		expect(() => build(configs.fedavg).merge({ ...p, scalars: [0] })).toThrow(/total weight 0/);
		expect(() => build(configs.fedavg).merge({ ...p, sums: [Float64Array.from([1, NaN, 0, 0])] })).toThrow(/non-finite/);
		const perf = build(configs.perffedavg);
		expect(() => perf.merge({ strategy: 'perffedavg', count: 1, sums: [new Float64Array(4), new Float64Array(4)], scalars: [1, 2] })).toThrow(/accuracy sum 2/);
		expect(perf.count).toBe(0);
	});
});

describe('partial aggregate encoding', () => {
	const p: PartialAggregate = {
		strategy: 'perffedavg',
		count: 3,
		sums: [Float64Array.from([1.5, -2, 1e300, 0.1]), Float64Array.from([0, -0, 5e-324, -7])],
		scalars: [45, 1.75]
	};
	const expected = { strategy: 'perffedavg', length: 4 } as const;
	const bytes = encodePartialAggregate(p);

	it('has the documented layout', () => {
		// 1 version + 1 name length + 10 name + 10 counts = 22, padded to 24; 10 float64s.
		expect(bytes.length).toBe(24 + 8 * 10);
		const view = new DataView(bytes.buffer);
		expect(view.getUint8(0)).toBe(1);
		expect(view.getUint8(1)).toBe(10);
		expect(new TextDecoder().decode(bytes.subarray(2, 12))).toBe('perffedavg');
		expect([view.getUint32(12, true), view.getUint32(16, true), view.getUint8(20), view.getUint8(21)]).toEqual([3, 4, 2, 2]);
		expect(view.getFloat64(24, true)).toBe(45);
		expect(view.getFloat64(40, true)).toBe(1.5);
	});

	it('round-trips exactly, from aligned and unaligned views', () => {
		expect(decodePartialAggregate(bytes, expected)).toEqual(p);
		const shifted = new Uint8Array(bytes.length + 3);
		shifted.set(bytes, 3);
		const view = shifted.subarray(3);
		expect(view.byteOffset % 8).toBe(3);
		const decoded = decodePartialAggregate(view, expected);
		expect(decoded).toEqual(p);
		expect(Object.is(decoded.sums[1][1], -0)).toBe(true);
	});

	it('decodes an unaligned view into a Node Buffer, as Socket.IO hands bytes over between servers', () => {
		// A Buffer's slice() is a view over its whole pool: copying through it once read the wrong bytes.
		const pool = Buffer.alloc(bytes.length + 64);
		pool.set(bytes, 13);
		const view = pool.subarray(13, 13 + bytes.length);
		expect(view.byteOffset % 8).not.toBe(0);
		expect(decodePartialAggregate(view, expected)).toEqual(p);
	});

	it('does not alias the input buffer', () => {
		const copy = bytes.slice();
		const decoded = decodePartialAggregate(copy, expected);
		copy.fill(0);
		expect(decoded.sums[0][0]).toBe(1.5);
	});

	it('rejects truncated and oversized input', () => {
		expect(() => decodePartialAggregate(bytes.subarray(0, 1), expected)).toThrow(/truncated/);
		expect(() => decodePartialAggregate(bytes.subarray(0, 20), expected)).toThrow(/truncated/);
		expect(() => decodePartialAggregate(bytes.subarray(0, bytes.length - 1), expected)).toThrow(/truncated \(103 bytes, expected 104\)/);
		const longer = new Uint8Array(bytes.length + 8);
		longer.set(bytes);
		expect(() => decodePartialAggregate(longer, expected)).toThrow(/8 unexpected trailing bytes/);
	});

	it('rejects another strategy, length, layout or version', () => {
		expect(() => decodePartialAggregate(bytes, { strategy: 'fedavg', length: 4 })).toThrow(/is for strategy "perffedavg", expected fedavg/);
		expect(() => decodePartialAggregate(bytes, { ...expected, length: 5 })).toThrow(/4 values, expected 5/);
		expect(() => decodePartialAggregate(bytes, { strategy: 'median', length: 4 })).toThrow(/median keeps every update/);
		const fedavg = encodePartialAggregate({ strategy: 'fedavg', count: 1, sums: [new Float64Array(2)], scalars: [1] });
		expect(() => decodePartialAggregate(fedavg, { strategy: 'fedavgm', length: 2 })).toThrow(/is for strategy "fedavg"/);
		const badLayout = bytes.slice();
		badLayout[21] = 1;
		expect(() => decodePartialAggregate(badLayout, expected)).toThrow(/needs 2 sums and 2 scalars, got 2 and 1/);
		const badVersion = bytes.slice();
		badVersion[0] = 2;
		expect(() => decodePartialAggregate(badVersion, expected)).toThrow(/version 2/);
	});

	it('rejects non-finite and negative values', () => {
		const nan = bytes.slice();
		new DataView(nan.buffer).setFloat64(24 + 8 * 5, NaN, true);
		expect(() => decodePartialAggregate(nan, expected)).toThrow(/non-finite value at index 3/);
		const infinite = bytes.slice();
		new DataView(infinite.buffer).setFloat64(24, Infinity, true);
		expect(() => decodePartialAggregate(infinite, expected)).toThrow(/scalars must be finite/);
		const negative = bytes.slice();
		new DataView(negative.buffer).setFloat64(32, -1, true);
		expect(() => decodePartialAggregate(negative, expected)).toThrow(/non-negative/);
		expect(() => encodePartialAggregate({ ...p, scalars: [NaN, 0] })).toThrow(/finite/);
	});
});
