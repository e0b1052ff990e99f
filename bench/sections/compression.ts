import { createRng, createStrategy } from '@qflare/fl';
import { loadDataset, partitionIndices, shardOf } from '@qflare/datasets';
import type { LabelledSet, UpdateEncoding } from '@qflare/protocol';
import { LocalTrainer, MODEL_SPECS, parameterSegments } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import { screenPayload } from '../../apps/server/src/rounds/verify-update';
import { UpdateCompressor } from '@qflare/participant';
import type { Section, TableRow } from '../lib/types';

const SEED = 7;
const ENCODINGS: { label: string; encoding: UpdateEncoding }[] = [
	{ label: 'f32', encoding: { kind: 'f32' } },
	{ label: 'f16', encoding: { kind: 'f16' } },
	{ label: 'int8', encoding: { kind: 'int8' } },
	{ label: 'top-k 10%', encoding: { kind: 'top-k', fraction: 0.1 } }
];

interface EncodingResult {
	label: string;
	encoding: UpdateEncoding;
	/** Test accuracy of the global model after each round. */
	accuracy: number[];
	bytesPerUpdate: number;
	bytesPerRound: number;
	bytesTotal: number;
	encodeMs: number;
	decodeMs: number;
}

/**
 * Accuracy after R rounds of FedAvg on the MNIST MLP (IID) for each update encoding, in one
 * process: the participants' real trainer (tfjs wasm) and UpdateCompressor, the server's
 * screenPayload (encoding check, decode, screening) and createStrategy('fedavg'). Every encoding
 * starts from the same model and trains with the same shuffle seeds, so the curves differ only by
 * what the encoding loses.
 */
export const compression: Section = async (ctx) => {
	const clients = ctx.quick ? 4 : 10;
	const perClient = ctx.quick ? 300 : 600;
	const rounds = ctx.quick ? 3 : 20;
	const hp = { localEpochs: 1, batchSize: 32, learningRate: 0.1 };
	const { tf, backend } = await initNodeTf();
	const { train, test } = await loadDataset('mnist');
	const shards: LabelledSet[] = partitionIndices(train, { partition: 'iid', shardCount: clients, seed: SEED }).map((indices) =>
		shardOf(train, indices.slice(0, perClient))
	);
	const spec = MODEL_SPECS.mlp;
	const segments = parameterSegments(spec);
	const trainer = new LocalTrainer(tf);
	trainer.prepare(spec, SEED);
	const initial = trainer.weights();
	const setup = `MNIST MLP (${initial.length} parameters), IID, ${clients} clients x ${perClient} examples, batch ${hp.batchSize}, lr ${hp.learningRate}, ${hp.localEpochs} epoch, ${rounds} rounds of FedAvg, ${test.count} test examples, tfjs ${backend}`;
	ctx.log(setup);

	const results: EncodingResult[] = [];
	for (const { label, encoding } of ENCODINGS) {
		// A seeded rounding source: reruns give the same numbers. One compressor per client keeps its residual.
		const rng = createRng(SEED);
		const compressors = shards.map(() => new UpdateCompressor({ random: rng.next }));
		let global: Float32Array = initial.slice();
		const accuracy: number[] = [];
		let bytesTotal = 0;
		let bytesPerUpdate = 0;
		let encodeMs = 0;
		let decodeMs = 0;
		for (let round = 0; round < rounds; round++) {
			const strategy = createStrategy({ name: 'fedavg' }, global.length);
			for (let c = 0; c < clients; c++) {
				const update = await trainer.train(global, shards[c], { ...hp, seed: SEED * 1000 + round * clients + c });
				let t = performance.now();
				const payload = compressors[c].encode(update.delta, encoding, segments);
				encodeMs += performance.now() - t;
				bytesTotal += payload.byteLength;
				bytesPerUpdate = Math.max(bytesPerUpdate, payload.byteLength);
				t = performance.now();
				const screened = screenPayload(payload, {
					parameterCount: global.length,
					screening: { maxUpdateNorm: null, normPolicy: 'reject' },
					encoding
				});
				decodeMs += performance.now() - t;
				strategy.add({ delta: screened.owned ? screened.delta : screened.delta.slice(), numSamples: update.numSamples });
			}
			global = strategy.finish(global);
			accuracy.push((await trainer.evaluate(global, test)).accuracy);
		}
		const updates = rounds * clients;
		const result: EncodingResult = {
			label,
			encoding,
			accuracy,
			bytesPerUpdate,
			bytesPerRound: bytesTotal / rounds,
			bytesTotal,
			encodeMs: Math.round((encodeMs / updates) * 100) / 100,
			decodeMs: Math.round((decodeMs / updates) * 100) / 100
		};
		results.push(result);
		ctx.log(`${label}: accuracy ${accuracy.map((a) => a.toFixed(3)).join(' ')}; ${bytesPerUpdate} B/update, encode ${result.encodeMs} ms, decode+screen ${result.decodeMs} ms`);
	}
	trainer.dispose();

	const f32 = results[0];
	const pct = (a: number) => `${(a * 100).toFixed(2)}%`;
	const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`;
	const final = (r: EncodingResult) => r.accuracy[r.accuracy.length - 1];
	const rows: TableRow[] = results.flatMap((r) => [
		{
			figure: `${r.label}: test accuracy after ${rounds} rounds`,
			value: pct(final(r)),
			baseline: `f32 ${pct(final(f32))}`,
			ratio: Math.round((final(r) / final(f32)) * 1000) / 1000
		},
		{
			figure: `${r.label}: bytes per participant per round (all ${clients}: ${kb(r.bytesPerRound)}; ${rounds} rounds: ${(r.bytesTotal / 1e6).toFixed(2)} MB)`,
			value: kb(r.bytesPerUpdate),
			baseline: `f32 ${kb(f32.bytesPerUpdate)}`,
			ratio: Math.round((r.bytesPerUpdate / f32.bytesPerUpdate) * 1000) / 1000
		}
	]);
	return {
		section: 'compression',
		method: `${setup}; each encoding from the same initial model and shuffle seeds, participants' UpdateCompressor (int8 per tensor with seeded stochastic rounding, top-k with error feedback), the server's screenPayload and createStrategy(fedavg) in one process`,
		rows,
		notMeasured: ['network time: bytes only, no sockets (the payload sizes are exact)'],
		data: { setup, parameters: initial.length, clients, perClient, rounds, hyperparams: hp, backend, results }
	};
};
