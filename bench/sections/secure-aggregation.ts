import { randomBytes } from 'node:crypto';
import { createStrategy } from '@qflare/fl';
import { SecureRoundClient } from '@qflare/participant';
import { generateDeviceKeypair, sha256Hex, signMessage, toBase64, updateMessage, type DeviceKeypair } from '@qflare/pq';
import {
	decodeMaskedWords,
	decodeWeights,
	encodeWeights,
	type SecureNeighbours,
	type SecureRelay,
	type SecureUnmaskRequest
} from '@qflare/protocol';
import { SecureAggregationRound } from '../../apps/server/src/rounds/secure-round';
import { syntheticDelta } from '../lib/synthetic';
import type { Section, TableRow } from '../lib/types';

// One round of secure aggregation at n participants, every message passing through the real
// server module (SecureAggregationRound) and the real device module (SecureRoundClient), in one
// process without sockets: what each side computes and what would cross the wire. Compared with
// a plain round of the same participants (f32 update, signed; the server decodes and folds).
// Bytes count the JSON/base64 of control messages as Socket.IO would carry them, binary as is.

/** MNIST MLP 784-200-200-10. */
const PARAMETERS = 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10;
const SAMPLES = 600;

interface SideCost {
	ms: number;
	sentBytes: number;
	receivedBytes: number;
}

interface RoundCost {
	participants: number;
	degree: number;
	threshold: number;
	/** Per participant: medians over participants. */
	device: SideCost;
	server: { ms: number; receivedBytes: number; sentBytes: number; unmaskMs: number };
	droppedBeforeUpload: number;
	droppedAfterUpload: number;
	maxError: number;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function signedEnvelopeBytes(keypair: DeviceKeypair, payload: Uint8Array): number {
	const payloadSha256 = sha256Hex(payload);
	const signature = toBase64(signMessage(keypair.secretKey, updateMessage({ roundId: 'r-bench', modelVersion: 0, payloadSha256 })));
	return payload.length + jsonBytes({ roundId: 'r-bench', modelVersion: 0, numSamples: 1, steps: 1, trainLoss: 0.1, trainAccuracy: 0.9, trainMs: 1, payloadSha256, signature });
}

async function secureRound(n: number, keypairs: DeviceKeypair[], deltas: Float32Array[], dropBefore: number, dropAfter: number): Promise<RoundCost> {
	const roster = Array.from({ length: n }, (_, i) => `d${String(i).padStart(4, '0')}`);
	const deviceMs = new Array<number>(n).fill(0);
	const sent = new Array<number>(n).fill(0);
	const received = new Array<number>(n).fill(0);
	let serverMs = 0;
	const inbox = roster.map(() => ({ neighbours: null as SecureNeighbours | null, relay: null as SecureRelay | null, unmask: null as SecureUnmaskRequest | null }));
	const at = new Map(roster.map((id, i) => [id, i]));
	const deliver = (id: string, kind: 'neighbours' | 'relay' | 'unmask', message: SecureNeighbours | SecureRelay | SecureUnmaskRequest) => {
		const i = at.get(id)!;
		(inbox[i] as Record<string, unknown>)[kind] = message;
		received[i] += jsonBytes(message);
	};
	const timed = <T>(f: () => T): [T, number] => {
		const t = performance.now();
		const r = f();
		return [r, performance.now() - t];
	};
	const timedAsync = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
		const t = performance.now();
		const r = await f();
		return [r, performance.now() - t];
	};

	let t = performance.now();
	const server = new SecureAggregationRound({
		roundId: 'r-bench',
		roster,
		config: { clip: 1, maxSamplesPerClient: 10_000, degree: null },
		parameterCount: PARAMETERS,
		graphSeed: new Uint8Array(randomBytes(32)),
		dp: null,
		channel: { neighbours: (id, m) => deliver(id, 'neighbours', m), relay: (id, m) => deliver(id, 'relay', m), unmask: (id, m) => deliver(id, 'unmask', m) },
		phaseMs: 600_000,
		unmaskMs: 600_000
	});
	serverMs += performance.now() - t;
	const setupBytes = jsonBytes(server.setup);
	const clients: SecureRoundClient[] = [];
	for (let i = 0; i < n; i++) {
		const [client, ms] = timed(() => new SecureRoundClient({ roundId: 'r-bench', setup: server.setup, deviceId: roster[i], deviceSecretKey: keypairs[i].secretKey }));
		clients.push(client);
		deviceMs[i] += ms;
		received[i] += setupBytes;
	}
	// Keys: everyone advertises, the server checks each signature and relays them to the neighbours.
	for (let i = 0; i < n; i++) {
		const [keys, ms] = timed(() => clients[i].keysMessage());
		deviceMs[i] += ms;
		sent[i] += jsonBytes(keys);
		t = performance.now();
		server.acceptKeys(roster[i], toBase64(keypairs[i].publicKey), keys);
		serverMs += performance.now() - t;
	}
	// Shares: each device checks its neighbours' keys, seals its shares to them and encapsulates.
	for (let i = 0; i < n; i++) {
		const [shares, ms] = await timedAsync(() => clients[i].onNeighbours(inbox[i].neighbours!)!);
		deviceMs[i] += ms;
		sent[i] += jsonBytes(shares);
		t = performance.now();
		server.acceptShares(roster[i], shares);
		serverMs += performance.now() - t;
	}
	for (let i = 0; i < n; i++) {
		const [ok, ms] = await timedAsync(() => clients[i].onRelay(inbox[i].relay!)!);
		if (!ok) throw new Error(`device ${i} refused its relay`);
		deviceMs[i] += ms;
	}
	// Upload: all but the first dropBefore devices mask and send their update.
	const uploaders = roster.map((_, i) => i).filter((i) => i >= dropBefore);
	for (const i of uploaders) {
		const [payload, ms] = await timedAsync(() => clients[i].maskedPayload(deltas[i], SAMPLES, null));
		deviceMs[i] += ms;
		sent[i] += signedEnvelopeBytes(keypairs[i], payload);
		t = performance.now();
		server.addMasked(roster[i], decodeMaskedWords(payload));
		serverMs += performance.now() - t;
	}
	// Unmask: the last dropAfter uploaders do not answer.
	t = performance.now();
	const unmasking = server.unmask();
	serverMs += performance.now() - t;
	const revealers = uploaders.slice(0, uploaders.length - dropAfter);
	for (const i of revealers) {
		const [reveal, ms] = timed(() => clients[i].reveal(inbox[i].unmask!)!);
		deviceMs[i] += ms;
		sent[i] += jsonBytes(reveal);
		t = performance.now();
		server.acceptReveal(roster[i], reveal);
		serverMs += performance.now() - t;
	}
	t = performance.now();
	const sum = await unmasking;
	serverMs += performance.now() - t;
	server.dispose();

	let maxError = 0;
	const total = uploaders.length * SAMPLES;
	for (let j = 0; j < PARAMETERS; j += 97) {
		let plain = 0;
		for (const i of uploaders) plain += deltas[i][j];
		maxError = Math.max(maxError, Math.abs(sum.mean[j] - plain / uploaders.length));
	}
	if (sum.totalSamples !== total) throw new Error(`unmasked ${sum.totalSamples} samples, expected ${total}`);
	const full = revealers;
	return {
		participants: n,
		degree: server.setup.degree,
		threshold: server.setup.threshold,
		device: { ms: median(full.map((i) => deviceMs[i])), sentBytes: median(full.map((i) => sent[i])), receivedBytes: median(full.map((i) => received[i])) },
		server: {
			ms: serverMs,
			receivedBytes: sent.reduce((a, b) => a + b, 0),
			sentBytes: received.reduce((a, b) => a + b, 0),
			unmaskMs: server.stats.unmaskMs ?? 0
		},
		droppedBeforeUpload: dropBefore,
		droppedAfterUpload: dropAfter,
		maxError
	};
}

function plainRound(n: number, keypairs: DeviceKeypair[], deltas: Float32Array[]): RoundCost {
	const deviceMs: number[] = [];
	const sent: number[] = [];
	let serverMs = 0;
	const strategy = createStrategy({ name: 'fedavg' }, PARAMETERS);
	for (let i = 0; i < n; i++) {
		let t = performance.now();
		const payload = encodeWeights(deltas[i]);
		const bytes = signedEnvelopeBytes(keypairs[i], payload);
		deviceMs.push(performance.now() - t);
		sent.push(bytes);
		t = performance.now();
		strategy.add({ delta: decodeWeights(payload).values, numSamples: SAMPLES });
		serverMs += performance.now() - t;
	}
	const t = performance.now();
	strategy.finish(new Float32Array(PARAMETERS));
	serverMs += performance.now() - t;
	return {
		participants: n,
		degree: 0,
		threshold: 0,
		device: { ms: median(deviceMs), sentBytes: median(sent), receivedBytes: 0 },
		server: { ms: serverMs, receivedBytes: sent.reduce((a, b) => a + b, 0), sentBytes: 0, unmaskMs: 0 },
		droppedBeforeUpload: 0,
		droppedAfterUpload: 0,
		maxError: 0
	};
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export const secureAggregation: Section = async (ctx) => {
	const sizes = ctx.quick ? [10] : [10, 50, 100];
	const keypairs = Array.from({ length: Math.max(...sizes) }, () => generateDeviceKeypair());
	const deltas = keypairs.map((_, i) => syntheticDelta(PARAMETERS, i + 1));
	const rows: TableRow[] = [];
	const results: Record<string, { secure: RoundCost; plain: RoundCost }> = {};
	for (const n of sizes) {
		// A tenth drops before uploading and a tenth after (at least one each).
		const drops = Math.max(1, Math.round(n / 10));
		ctx.log(`${n} participants: secure round (${drops} drop before uploading, ${drops} after)`);
		const secure = await secureRound(n, keypairs, deltas, drops, drops);
		// The plain round gets the same uploads: the devices that did not drop before uploading.
		const plain = plainRound(n - drops, keypairs, deltas);
		results[n] = { secure, plain };
		rows.push(
			{
				figure: `${n} participants (k=${secure.degree}, t=${secure.threshold}): device ms/round`,
				value: `${secure.device.ms.toFixed(0)} ms`,
				baseline: `plain ${plain.device.ms.toFixed(1)} ms`,
				ratio: Math.round((secure.device.ms / plain.device.ms) * 10) / 10
			},
			{
				figure: `${n} participants: device bytes sent / received`,
				value: `${kb(secure.device.sentBytes)} / ${kb(secure.device.receivedBytes)}`,
				baseline: `plain ${kb(plain.device.sentBytes)} / (the model)`,
				ratio: Math.round((secure.device.sentBytes / plain.device.sentBytes) * 100) / 100
			},
			{
				figure: `${n} participants: server ms/round (unmasking)`,
				value: `${secure.server.ms.toFixed(0)} ms (${secure.server.unmaskMs.toFixed(0)} ms)`,
				baseline: `plain ${plain.server.ms.toFixed(0)} ms`,
				ratio: Math.round((secure.server.ms / plain.server.ms) * 10) / 10
			},
			{
				figure: `${n} participants: server bytes received / relayed`,
				value: `${kb(secure.server.receivedBytes)} / ${kb(secure.server.sentBytes)}`,
				baseline: `plain ${kb(plain.server.receivedBytes)} / -`,
				ratio: Math.round((secure.server.receivedBytes / plain.server.receivedBytes) * 100) / 100
			}
		);
	}
	return {
		section: 'secure-aggregation',
		method:
			`one round of SecAgg+ per size with the real SecureAggregationRound (server) and SecureRoundClient (device) in one process, messages passed in memory, ` +
			`MNIST MLP (${PARAMETERS} parameters), synthetic deltas, a tenth of the participants dropping before and a tenth after uploading; device figures are medians ` +
			`over participants that went through every phase; bytes are the JSON of control messages plus binary payloads; plain = the devices that uploaded sending signed f32 updates to FedAvg`,
		rows,
		notMeasured: ['network time and Socket.IO framing; the browser (this runs in Node, where @noble runs the same code)'],
		data: { parameters: PARAMETERS, samplesPerDevice: SAMPLES, results }
	};
};
