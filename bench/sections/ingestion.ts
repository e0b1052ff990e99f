import { encodeWeights, type RoundTask } from '@qflare/protocol';
import { WebSocket } from 'ws';
import { startChildServer, type ChildServer } from '../lib/child-server';
import { api, createProject, joinToken, ProtocolParticipant, type PreparedUpdate } from '../lib/participant-client';
import { bufferutilStatus, ratio, summarize, type Summary } from '../lib/stats';
import { CNN_PARAMETERS, syntheticDelta } from '../lib/synthetic';
import { fmtSummary, type Section, type TableRow } from '../lib/types';

interface PhaseSample {
	/** First byte sent (all clients released together) to the last ack. */
	uploadMs: number;
	bytes: number;
	updates: number;
}

interface RunResult {
	upload: PhaseSample[];
	peakRssMb: number | null;
	idleRssMb: number | null;
	/** Qflare only: task received to round:closed (hash + sign, upload, verify, fold, evaluate, commit). */
	roundWallMs?: number[];
	signMs?: number[];
	hashMs?: number[];
}

/** Every client's payload differs (the server rejects a payload hash another device sent). */
function clientPayloads(clients: number): Uint8Array[] {
	const base = encodeWeights(syntheticDelta(CNN_PARAMETERS, 7));
	return Array.from({ length: clients }, (_, i) => {
		const p = base.slice();
		p[p.length - 4] = i & 0xff;
		p[p.length - 8] = (i >> 8) & 0xff;
		return p;
	});
}

/** Low mantissa byte of the first value: a new hash per round, still a finite float. */
function stampRound(payload: Uint8Array, round: number): void {
	payload[16] = round & 0xff;
}

async function runQflare(clients: number, rounds: number, log: (m: string) => void): Promise<RunResult> {
	const server = await startChildServer('qflare-server.ts');
	try {
		const project = await createProject<{ id: string }>(server, {
			name: `bench ingestion ${clients}`,
			dataset: 'mnist',
			model: 'cnn',
			rounds: 10_000,
			minParticipants: clients,
			shardCount: Math.max(clients, 1),
			roundTimeoutSec: 3_600,
			seed: 1
		});
		const participants: ProtocolParticipant[] = [];
		const token = await joinToken(server, project.id);
		for (let i = 0; i < clients; i++) participants.push(await ProtocolParticipant.join(server.url, project.id, token));
		await Promise.all(participants.map((p) => p.ready(100)));
		const payloads = clientPayloads(clients);
		const idleRssMb = server.rssMb();
		await api(server, 'POST', `/projects/${project.id}/start`);

		const upload: PhaseSample[] = [];
		const roundWallMs: number[] = [];
		const signMs: number[] = [];
		const hashMs: number[] = [];
		for (let r = 0; r < rounds; r++) {
			const tasks: RoundTask[] = await Promise.all(participants.map((p) => p.nextTask()));
			const taskAt = performance.now();
			const prepared: PreparedUpdate[] = participants.map((p, i) => {
				stampRound(payloads[i], r);
				const u = p.prepare(tasks[i], payloads[i], { numSamples: 100, steps: 10, trainLoss: 1, trainAccuracy: 0.5, trainMs: 1 });
				signMs.push(u.signMs);
				hashMs.push(u.hashMs);
				return u;
			});
			// Signing happens before release, so the upload phase is transport + server work only.
			const t0 = performance.now();
			await Promise.all(participants.map((p, i) => p.send(prepared[i])));
			const uploadMs = performance.now() - t0;
			upload.push({ uploadMs, bytes: payloads.reduce((s, p) => s + p.byteLength, 0), updates: clients });
			await Promise.all(participants.map((p) => p.nextClosed()));
			roundWallMs.push(performance.now() - taskAt);
			log(`qflare ${clients} clients round ${r + 1}/${rounds}: upload ${uploadMs.toFixed(0)} ms, round ${(performance.now() - taskAt).toFixed(0)} ms`);
		}
		const peakRssMb = server.peakRssMb();
		for (const p of participants) p.close();
		return { upload, peakRssMb, idleRssMb, roundWallMs, signMs, hashMs };
	} finally {
		await server.stop();
	}
}

async function runWs(clients: number, rounds: number, log: (m: string) => void): Promise<RunResult> {
	const server: ChildServer = await startChildServer('ws-server.ts');
	try {
		const sockets = await Promise.all(
			Array.from(
				{ length: clients },
				() =>
					new Promise<WebSocket>((resolve, reject) => {
						const ws = new WebSocket(server.url, { maxPayload: 256 * 1024 * 1024 });
						ws.once('open', () => resolve(ws));
						ws.once('error', reject);
					})
			)
		);
		const payloads = clientPayloads(clients);
		const idleRssMb = server.rssMb();
		const upload: PhaseSample[] = [];
		for (let r = 0; r < rounds; r++) {
			const t0 = performance.now();
			await Promise.all(
				sockets.map(
					(ws, i) =>
						new Promise<void>((resolve, reject) => {
							ws.once('message', (data) => {
								const reply = JSON.parse(String(data)) as { bytes: number };
								if (reply.bytes !== payloads[i].byteLength) reject(new Error(`ws server got ${reply.bytes} bytes`));
								else resolve();
							});
							ws.send(payloads[i], { binary: true });
						})
				)
			);
			const uploadMs = performance.now() - t0;
			upload.push({ uploadMs, bytes: payloads.reduce((s, p) => s + p.byteLength, 0), updates: clients });
			log(`ws ${clients} clients round ${r + 1}/${rounds}: ${uploadMs.toFixed(0)} ms`);
		}
		const peakRssMb = server.peakRssMb();
		for (const ws of sockets) ws.close();
		return { upload, peakRssMb, idleRssMb };
	} finally {
		await server.stop();
	}
}

const mbPerS = (s: PhaseSample) => s.bytes / 1e6 / (s.uploadMs / 1000);
const updPerS = (s: PhaseSample) => s.updates / (s.uploadMs / 1000);

export const ingestion: Section = async (ctx) => {
	const counts = ctx.quick ? [1, 3] : [1, 10, 50];
	// Enough rounds that each client count sends at least ~10 updates where that is cheap; each
	// Qflare round also evaluates the CNN on the test split, which is most of its wall time.
	const roundsFor = (n: number) => (ctx.quick ? 2 : n === 1 ? 8 : n <= 10 ? 3 : 2);
	const bufferutil = bufferutilStatus();
	if (!bufferutil.present) ctx.log('WARNING: bufferutil does not load; ws masks in JS (4x slower, FACTS.md)');

	const rows: TableRow[] = [];
	const perCount: Record<string, unknown> = {};
	for (const n of counts) {
		const rounds = roundsFor(n);
		// Baseline first: its numbers do not depend on tfjs having warmed up in the server.
		const ws = await runWs(n, rounds, ctx.log);
		const q = await runQflare(n, rounds, ctx.log);
		const qMb = summarize(q.upload.map(mbPerS));
		const wMb = summarize(ws.upload.map(mbPerS));
		const qUps = summarize(q.upload.map(updPerS));
		const wUps = summarize(ws.upload.map(updPerS));
		// Throughput: the ratio is baseline / measured, so it reads as "x times slower than bare ws".
		const slower = (m: Summary, b: Summary) => Math.round((b.median / m.median) * 100) / 100;
		rows.push({
			figure: `${n} client${n > 1 ? 's' : ''}, MB/s (ratio = ws/qflare)`,
			value: fmtSummary(qMb, 'MB/s', 0),
			baseline: `ws ${fmtSummary(wMb, 'MB/s', 0)}`,
			ratio: slower(qMb, wMb)
		});
		rows.push({
			figure: `${n} client${n > 1 ? 's' : ''}, updates/s`,
			value: fmtSummary(qUps, 'upd/s', 1),
			baseline: `ws ${fmtSummary(wUps, 'upd/s', 1)}`,
			ratio: slower(qUps, wUps)
		});
		rows.push({
			figure: `${n} client${n > 1 ? 's' : ''}, server peak RSS`,
			value: `${q.peakRssMb ?? '?'} MB`,
			baseline: `ws ${ws.peakRssMb ?? '?'} MB`,
			ratio: q.peakRssMb && ws.peakRssMb ? Math.round((q.peakRssMb / ws.peakRssMb) * 100) / 100 : null
		});
		perCount[n] = {
			rounds,
			qflare: {
				mbPerS: qMb,
				updatesPerS: qUps,
				uploadMs: summarize(q.upload.map((s) => s.uploadMs)),
				roundWallMs: summarize(q.roundWallMs!),
				clientSignMs: summarize(q.signMs!),
				clientHashMs: summarize(q.hashMs!),
				peakRssMb: q.peakRssMb,
				rssBeforeRoundsMb: q.idleRssMb
			},
			ws: { mbPerS: wMb, updatesPerS: wUps, uploadMs: summarize(ws.upload.map((s) => s.uploadMs)), peakRssMb: ws.peakRssMb, rssBeforeRoundsMb: ws.idleRssMb }
		};
	}
	return {
		section: 'ingestion',
		method:
			`For ${counts.join(', ')} socket.io-client (websocket) clients in the bench process: real server (startQflareServer, embedded store on a temp dir) in a child ` +
			`process, project model cnn with minParticipants = clients; each round every client receives round:task, hashes and ML-DSA-65-signs its CNN update ` +
			`(${CNN_PARAMETERS} f32 values), all are released together and the upload phase is timed to the last ack (server: schema, signature, hash, decode, fold, store); ` +
			`baseline: a plain ws server child that acks each received binary message, same clients, same bytes. Peak RSS is VmHWM of each server child (one fresh child per client count).`,
		rows,
		notMeasured: bufferutil.present ? [] : ['bufferutil could not be loaded: both servers ran with JS masking'],
		data: { bufferutil, parameters: CNN_PARAMETERS, perClientCount: perCount }
	};
};
