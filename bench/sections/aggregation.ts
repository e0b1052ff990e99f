import { FedAvgAccumulator, createStrategy, type StrategyConfig } from '@qflare/fl';
import { MODEL_SPECS, parameterCount } from '@qflare/trainer';
import { ratio, summarize, type Summary } from '../lib/stats';
import { CNN_PARAMETERS, syntheticDelta } from '../lib/synthetic';
import { fmtSummary, type Section, type TableRow } from '../lib/types';

const MB = 1e6;

/**
 * FedAvg's streaming fold against a memcpy of the same bytes (the floor for touching an
 * update at all), then every strategy end to end (add all, finish) on the same updates.
 */
export const aggregation: Section = async (ctx) => {
	const length = parameterCount(MODEL_SPECS.cnn);
	if (length !== CNN_PARAMETERS) ctx.log(`note: the CNN now has ${length} parameters, not ${CNN_PARAMETERS}`);
	const updates = ctx.quick ? 10 : 50;
	const passes = ctx.quick ? 2 : 5;
	const strategyTrials = ctx.quick ? 1 : 3;
	const bytesPerUpdate = length * 4;

	ctx.log(`generating ${updates} updates of ${length} floats (${((updates * bytesPerUpdate) / MB).toFixed(0)} MB)`);
	const deltas = Array.from({ length: updates }, (_, i) => syntheticDelta(length, i + 1));
	const weights = deltas.map((_, i) => 100 + i);

	// Interleave fold and copy per update so that machine load hits both alike.
	const fold: number[] = [];
	const copy: number[] = [];
	const sink = new Float32Array(length);
	for (let p = 0; p < passes + 1; p++) {
		const acc = new FedAvgAccumulator(length);
		for (let i = 0; i < updates; i++) {
			let t = performance.now();
			acc.add(deltas[i], weights[i]);
			const f = performance.now() - t;
			t = performance.now();
			sink.set(deltas[i]);
			const c = performance.now() - t;
			// Pass 0 warms the JIT and the pages of the accumulator; it is not counted.
			if (p > 0) {
				fold.push(f);
				copy.push(c);
			}
		}
	}
	const foldS = summarize(fold);
	const copyS = summarize(copy);

	const global = new Float32Array(length);
	const f = Math.max(1, Math.floor((updates - 3) / 2) - 1);
	const configs: { label: string; config: StrategyConfig }[] = [
		{ label: 'fedavg', config: { name: 'fedavg' } },
		{ label: 'median', config: { name: 'median' } },
		{ label: 'trimmed-mean(0.1)', config: { name: 'trimmed-mean', trimFraction: 0.1 } },
		{ label: `krum(f=${Math.min(f, 10)})`, config: { name: 'krum', byzantine: Math.min(f, 10) } }
	];
	const strategies: Record<string, { totalMs: Summary; perUpdateMs: number; keepsUpdates: boolean; heldBytes: number; heapGrowthMB: number }> = {};
	for (const { label, config } of configs) {
		const totals: number[] = [];
		let keeps = false;
		let heapGrowth = 0;
		for (let t = 0; t < strategyTrials; t++) {
			global.fill(0);
			const before = process.memoryUsage();
			const start = performance.now();
			const s = createStrategy(config, length);
			for (let i = 0; i < updates; i++) s.add({ delta: deltas[i], numSamples: weights[i] });
			const next = s.finish(global);
			totals.push(performance.now() - start);
			const after = process.memoryUsage();
			heapGrowth = Math.max(heapGrowth, (after.arrayBuffers - before.arrayBuffers) / MB);
			keeps = s.keepsUpdates;
			if (next.length !== length) throw new Error(`${label} returned ${next.length} values`);
		}
		const totalMs = summarize(totals);
		strategies[label] = {
			totalMs,
			perUpdateMs: Math.round((totalMs.median / updates) * 100) / 100,
			keepsUpdates: keeps,
			// What the strategy must hold until finish: every update, or one Float64 accumulator.
			heldBytes: keeps ? updates * bytesPerUpdate : length * 8,
			heapGrowthMB: Math.round(heapGrowth)
		};
		ctx.log(`${label}: ${totalMs.median.toFixed(0)} ms for ${updates} updates`);
	}

	const fedavgTotal = strategies.fedavg.totalMs;
	const rows: TableRow[] = [
		{
			figure: `FedAvg fold, CNN update (${(bytesPerUpdate / MB).toFixed(2)} MB)`,
			value: fmtSummary(foldS, 'ms/update'),
			baseline: `memcpy ${fmtSummary(copyS, 'ms')}`,
			ratio: ratio(foldS, copyS)
		},
		...configs.slice(1).map(({ label }) => {
			const s = strategies[label];
			return {
				figure: `${label}, ${updates} updates (holds ${(s.heldBytes / MB).toFixed(0)} MB)`,
				value: `${fmtSummary(s.totalMs, 'ms')} (${s.perUpdateMs} ms/update)`,
				baseline: `fedavg ${fmtSummary(fedavgTotal, 'ms')} (holds ${(strategies.fedavg.heldBytes / MB).toFixed(0)} MB)`,
				ratio: ratio(s.totalMs, fedavgTotal)
			};
		})
	];
	return {
		section: 'aggregation',
		method:
			`FedAvgAccumulator.add of ${updates} synthetic CNN updates (${length} floats), ${passes} passes after a warm-up pass, each add timed next to a ` +
			`Float32Array.set of the same update; then createStrategy(fedavg|median|trimmed-mean|krum) add-all + finish on the same ${updates} updates, ${strategyTrials} trial(s)`,
		rows,
		notMeasured: [],
		data: { parameters: length, updates, bytesPerUpdate, foldMsPerUpdate: foldS, memcpyMsPerUpdate: copyS, foldOverMemcpy: ratio(foldS, copyS), strategies }
	};
};
