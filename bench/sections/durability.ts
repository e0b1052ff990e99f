import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeWeights, PROJECT_DEFAULTS } from '@qflare/protocol';
import { openStore, type Store } from '@qflare/store';
import { MODEL_SPECS, parameterCount } from '@qflare/trainer';
import { ratio, summarize, type Summary } from '../lib/stats';
import { syntheticDelta } from '../lib/synthetic';
import { fmtSummary, type Section, type TableRow } from '../lib/types';

const MB = 1e6;

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface ModelResult {
	parameters: number;
	payloadBytes: number;
	updates: number;
	/** Payload blob + update record + round record, as the coordinator writes before an ack. */
	durableMs: Summary;
	durableP95Ms: number;
	durableMBps: number;
	/** Update record + round record only: what an ack waited for before payloads were kept. */
	metadataMs: Summary;
	metadataP95Ms: number;
	/** Dropping the round's payloads once it ended, per update. */
	deletePerUpdateMs: number;
}

function p95(samples: readonly number[]): number {
	const s = [...samples].sort((a, b) => a - b);
	return Math.round(s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] * 1000) / 1000;
}

/** Times the writes of `count` accepted updates into one training round, with or without their payloads. */
async function writeRound(store: Store, projectId: string, roundNumber: number, payloads: readonly Uint8Array[], keepPayload: boolean): Promise<{ ms: number[]; roundId: string }> {
	const created = await store.rounds.create({ projectId, number: roundNumber, baseModelVersion: 0, deadline: new Date().toISOString() });
	const round = await store.rounds.transition(created.id, 'open', 'training', { selected: payloads.map((_, i) => `device-${i}`) });
	if (!round) throw new Error('round did not start training');
	const ms: number[] = [];
	for (const [i, bytes] of payloads.entries()) {
		const deviceId = `device-${i}`;
		const record = {
			projectId,
			roundId: round.id,
			deviceId,
			numSamples: 600,
			// Distinct per round: the same bytes are written in the metadata-only rounds too.
			payloadSha256: keepPayload ? sha256Hex(bytes) : `${sha256Hex(bytes).slice(0, 56)}${roundNumber.toString(16).padStart(8, '0')}`,
			bytes: bytes.byteLength,
			trainLoss: 0.5,
			trainAccuracy: 0.8,
			trainMs: 1000,
			receivedAt: new Date().toISOString()
		};
		const t = performance.now();
		await store.updates.insert(record, keepPayload ? { bytes, foldIndex: i, steps: 10, valAccuracy: null } : undefined);
		await store.rounds.addAccepted(round.id, deviceId, record.numSamples);
		ms.push(performance.now() - t);
	}
	return { ms, roundId: round.id };
}

/**
 * What acknowledging an update costs now that it is durable: the embedded store's writes of
 * the payload blob (temp file, fsync, rename, folder fsync), the update record and the round
 * record, timed per update for the MNIST MLP's and CNN's update sizes, next to the record
 * writes alone (the ack's cost before payloads were kept).
 */
export const durability: Section = async (ctx) => {
	const models = [
		{ name: 'mlp', updates: ctx.quick ? 20 : 100, rounds: ctx.quick ? 1 : 3 },
		{ name: 'cnn', updates: ctx.quick ? 5 : 20, rounds: ctx.quick ? 1 : 3 }
	] as const;
	const dataDir = await mkdtemp(path.join(tmpdir(), 'qflare-bench-durability-'));
	const store = await openStore({ dataDir });
	const results: Record<string, ModelResult> = {};
	try {
		const project = await store.projects.create({ ...PROJECT_DEFAULTS, name: 'durability bench' }, { organisationId: 'bench' });
		let roundNumber = 0;
		for (const model of models) {
			const parameters = parameterCount(MODEL_SPECS[model.name]);
			const payloads = Array.from({ length: model.updates }, (_, i) => encodeWeights(syntheticDelta(parameters, i + 1)));
			const payloadBytes = payloads[0].byteLength;
			ctx.log(`${model.name}: ${model.rounds} rounds of ${model.updates} updates of ${(payloadBytes / MB).toFixed(2)} MB`);
			// A warm-up round of each kind, not counted (page cache, JIT, nedb's first appends).
			await writeRound(store, project.id, ++roundNumber, payloads.slice(0, 3), true);
			await writeRound(store, project.id, ++roundNumber, payloads.slice(0, 3), false);
			const durable: number[] = [];
			const metadata: number[] = [];
			const deletes: number[] = [];
			for (let r = 0; r < model.rounds; r++) {
				// Alternate the two kinds so machine load hits both alike.
				const kept = await writeRound(store, project.id, ++roundNumber, payloads, true);
				durable.push(...kept.ms);
				metadata.push(...(await writeRound(store, project.id, ++roundNumber, payloads, false)).ms);
				const t = performance.now();
				await store.updates.deletePayloads(kept.roundId);
				deletes.push((performance.now() - t) / payloads.length);
			}
			const durableMs = summarize(durable);
			results[model.name] = {
				parameters,
				payloadBytes,
				updates: durable.length,
				durableMs,
				durableP95Ms: p95(durable),
				durableMBps: Math.round((payloadBytes / MB / (durableMs.median / 1000)) * 10) / 10,
				metadataMs: summarize(metadata),
				metadataP95Ms: p95(metadata),
				deletePerUpdateMs: Math.round(summarize(deletes).median * 1000) / 1000
			};
			ctx.log(`${model.name}: durable ${durableMs.median.toFixed(2)} ms/update (p95 ${p95(durable).toFixed(2)}), records only ${results[model.name].metadataMs.median.toFixed(2)} ms`);
		}
	} finally {
		await store.close();
		await rm(dataDir, { recursive: true, force: true });
	}
	const rows: TableRow[] = Object.entries(results).map(([name, r]) => ({
		figure: `durable accept, ${name.toUpperCase()} update (${(r.payloadBytes / MB).toFixed(2)} MB)`,
		value: `${fmtSummary(r.durableMs, 'ms')} p95 ${r.durableP95Ms.toFixed(2)} ms, ${r.durableMBps} MB/s`,
		baseline: `records only ${fmtSummary(r.metadataMs, 'ms')} p95 ${r.metadataP95Ms.toFixed(2)} ms`,
		ratio: ratio(r.durableMs, r.metadataMs)
	}));
	return {
		section: 'durability',
		method:
			'Embedded store (nedb + blob files) in a temp folder on this machine\'s disk: per accepted update, updates.insert with the encoded payload ' +
			'(blob written to a temp file, fsynced, renamed, folder fsynced; then the record) plus rounds.addAccepted, as the coordinator awaits before the ack; ' +
			'timed per update next to the same two record writes without the payload; synthetic encoded float32 updates of the MLP and CNN sizes',
		rows,
		notMeasured: ['MongoDB/GridFS: the section opens the embedded store only, and no MongoDB runs on this machine'],
		data: { results }
	};
};
