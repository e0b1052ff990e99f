import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseFixedPoint, decodeSum, encodeWeighted, epsilonAfterRounds, quantisationErrorBound } from '@qflare/fl';
import { decodeMaskedWords, type Project, type Round } from '@qflare/protocol';
import { startQflareServer, type QflareServer } from '@qflare/server';
import { openStore, type Store, type UpdatePayload } from '@qflare/store';
import { afterAll, describe, expect, it } from 'vitest';
import { startNodeParticipant, type NodeParticipant } from './participant';
import type { LocalTrainResult } from '@qflare/participant';
import { bootstrapOwner } from './test-support/owner-api';
import { until } from './test-support/until';

// Seven headless participants against the real server, secure aggregation on, two rounds of the
// MNIST MLP. In round 2 one participant stops after the key exchange, while training (so before its
// masked upload), and one
// right after its masked update was acknowledged (so it never answers the unmasking request).
// Both rounds must commit the plain FedAvg of the uploaded updates within the quantisation error,
// and nothing the server stored or logged may hold an unmasked update.

const root = mkdtempSync(path.join(tmpdir(), 'qflare-secure-'));
const N = 7;
const CLIP = 1;
const MAX_SAMPLES = 10_000;

interface Trained {
	round: number;
	result: LocalTrainResult;
}

describe('secure aggregation with Node participants', () => {
	let store: Store | null = null;
	let server: QflareServer | null = null;
	const participants: NodeParticipant[] = [];
	const logs: string[] = [];
	const stored: { deviceId: string; roundId: string; bytes: Uint8Array }[] = [];
	let owner: Awaited<ReturnType<typeof bootstrapOwner>>;

	/**
	 * A secure MNIST MLP project (with `extra` settings) joined by N fresh Node devices, all ready;
	 * `onResult` sees each device's plain local results.
	 */
	async function secureProject(
		name: string,
		extra: Record<string, unknown>,
		onResult: (device: NodeParticipant, result: LocalTrainResult) => void
	): Promise<{ project: Project; devices: NodeParticipant[] }> {
		const project = await owner.createProject({
			name,
			dataset: 'mnist',
			model: 'mlp',
			minParticipants: 5,
			shardCount: 40,
			batchSize: 100,
			learningRate: 0.1,
			roundTimeoutSec: 120,
			holdOutFraction: 0,
			...extra
		});
		const joinToken = await owner.joinToken(project.id);
		const devices: NodeParticipant[] = [];
		for (let i = 0; i < N; i++) {
			const device: NodeParticipant = await startNodeParticipant({
				server: server!.url,
				project: project.id,
				dataDir: path.join(root, `${project.id}-${i}`),
				joinToken,
				reconnectionDelayMs: 200,
				reconnectionDelayMaxMs: 1_000,
				onLocalResult: (result) => onResult(device, result)
			});
			devices.push(device);
			participants.push(device);
		}
		const ready = async () => (await owner.call<{ backend: string | null }[]>('GET', `/projects/${project.id}/devices`)).filter((d) => d.backend).length;
		await until('all devices ready', async () => ((await ready()) === N ? true : undefined), 120_000);
		return { project, devices };
	}

	async function runToCompletion(projectId: string): Promise<Round[]> {
		await owner.call('POST', `/projects/${projectId}/start`);
		const status = async () => (await owner.call<Project>('GET', `/projects/${projectId}`)).status;
		await until('the project to complete', async () => ((await status()) === 'completed' ? true : undefined), 240_000);
		return (await owner.call<Round[]>('GET', `/projects/${projectId}/rounds`)).sort((a, b) => a.number - b.number);
	}

	afterAll(async () => {
		for (const p of participants) p.stop();
		await server?.close();
		await store?.close();
		rmSync(root, { recursive: true, force: true });
	});

	it('commits the plain FedAvg of the uploaded updates, whoever left before or after uploading', async () => {
		store = await openStore({ dataDir: path.join(root, 'server') });
		const insert = store.updates.insert.bind(store.updates);
		// Everything the server writes as an update payload.
		store.updates.insert = (record, payload?: UpdatePayload) => {
			if (payload) stored.push({ deviceId: record.deviceId, roundId: record.roundId, bytes: payload.bytes.slice() });
			return insert(record, payload);
		};
		server = await startQflareServer({
			store,
			port: 0,
			appHandler: null,
			dropoutGraceMs: 300,
			log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`)
		});
		const url = server.url;
		owner = await bootstrapOwner(() => url, server.setupToken);
		const trained = new Map<string, Trained[]>();
		const { project, devices } = await secureProject(
			'secure',
			{ rounds: 2, secureAggregation: { clip: CLIP, maxSamplesPerClient: MAX_SAMPLES, degree: null } },
			(device, result) => {
				const mine = trained.get(device.deviceId) ?? [];
				trained.set(device.deviceId, mine);
				mine.push({ round: device.state().currentRound?.roundNumber ?? 0, result });
			}
		);

		// Round 2: participant 5 leaves after the key exchange, while training; participant 6 once its
		// masked update is acknowledged.
		const [before, after] = [devices[5], devices[6]];
		before.subscribe((s) => {
			if (s.currentRound?.roundNumber === 2 && s.secure?.roundId === s.currentRound.roundId && s.secure.phase === 'ready') before.stop();
		});
		after.subscribe((s) => {
			if (s.upload === 'accepted' && s.currentRound?.roundNumber === 2) after.stop();
		});

		const rounds = await runToCompletion(project.id);
		expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed']);
		expect(rounds[0].accepted).toHaveLength(N);
		// The rounds record how their sums came together (degree 6 of 7, threshold 4).
		expect(rounds[0].secure).toEqual({ degree: 6, threshold: 4, uploaded: N, droppedBeforeUpload: 0, revealed: expect.any(Number) });
		expect(rounds[1].secure).toMatchObject({ uploaded: N - 1, droppedBeforeUpload: 1 });
		expect(rounds[1].secure!.revealed).toBeGreaterThanOrEqual(4);
		// Participant 5 sent nothing in round 2; participant 6's masked update is in the sum.
		expect(rounds[1].accepted.sort()).toEqual(devices.filter((p) => p !== before).map((p) => p.deviceId).sort());

		for (const round of rounds) {
			const params = chooseFixedPoint({ maxClients: round.selected.length, maxSamplesPerClient: MAX_SAMPLES, clip: CLIP });
			const previous = (await store.models.loadWeights(project.id, round.baseModelVersion))!;
			const next = (await store.models.loadWeights(project.id, round.resultModelVersion!))!;
			const updates = round.accepted.map((deviceId) => trained.get(deviceId)!.find((t) => t.round === round.number)!.result);
			const weights = updates.map((u) => Math.min(u.numSamples, MAX_SAMPLES));
			const total = weights.reduce((a, b) => a + b, 0);
			expect(round.totalSamples).toBe(total);
			const bound = quantisationErrorBound(params, updates.length, total);
			let worst = 0;
			for (let j = 0; j < next.length; j++) {
				let sum = 0;
				for (let k = 0; k < updates.length; k++) sum += weights[k] * Math.max(-CLIP, Math.min(CLIP, updates[k].delta[j]));
				const plain = previous[j] + sum / total;
				// Adding the mean to the float32 weights rounds once more: half an ulp of the result.
				const ulp = Math.abs(plain) * 2 ** -23;
				worst = Math.max(worst, Math.abs(next[j] - plain) - ulp);
			}
			expect(worst).toBeLessThanOrEqual(bound);
			// A real model moved: the check above is not comparing a model with itself.
			expect(next.some((v, j) => Math.abs(v - previous[j]) > 1e-3)).toBe(true);
		}

		// What the server stored: masked words only, each looking nothing like the device's plain encoding.
		expect(stored).toHaveLength(N + N - 1);
		for (const { deviceId, roundId, bytes } of stored) {
			const round = rounds.find((r) => r.id === roundId)!;
			const params = chooseFixedPoint({ maxClients: round.selected.length, maxSamplesPerClient: MAX_SAMPLES, clip: CLIP });
			const words = decodeMaskedWords(bytes);
			expect(() => decodeSum(words, params)).toThrow(/masks not fully removed/);
			const plain = trained.get(deviceId)!.find((t) => t.round === round.number)!.result;
			const encoded = encodeWeighted(plain.delta, Math.min(plain.numSamples, MAX_SAMPLES), params);
			let same = 0;
			for (let j = 0; j < words.length; j++) if (words[j] === encoded[j]) same++;
			expect(same / words.length).toBeLessThan(0.001);
		}
		// Nor did any log line or stored event carry a value of an update.
		const events = await store.events.listRecent(project.id, { limit: 1000 });
		const text = [...logs, ...events.map((e) => JSON.stringify(e))].join('\n');
		for (const list of trained.values()) {
			for (const { result } of list) {
				for (const v of result.delta.subarray(0, 50)) if (Math.abs(v) > 1e-4) expect(text).not.toContain(String(v).slice(0, 9));
			}
		}
		expect(text).toContain('secure sum of 6 masked updates unmasked (1 dropped before uploading');
	}, 300_000);

	it('adds distributed DP noise on the devices and divides by the expected devices, as central DP-FedAvg does', async () => {
		const clipNorm = 1;
		const noiseMultiplier = 1;
		const results = new Map<string, LocalTrainResult>();
		const { project, devices } = await secureProject(
			'secure dp',
			{
				rounds: 1,
				strategy: { name: 'dp-fedavg', clipNorm, noiseMultiplier, delta: 1e-5, targetEpsilon: null },
				// Each device's noise has std zC/sqrt(7) = 0.38: a range of ±8 clips none of it.
				secureAggregation: { clip: 8, maxSamplesPerClient: MAX_SAMPLES, degree: null }
			},
			(device, result) => results.set(device.deviceId, result)
		);
		// One device leaves after the key exchange: 6 noise shares reach the sum, which is still divided by 7.
		const leaver = devices[0];
		leaver.subscribe((s) => {
			if (s.secure?.phase === 'ready') leaver.stop();
		});
		const [round] = await runToCompletion(project.id);
		expect(round.status).toBe('committed');
		expect(round.accepted).toHaveLength(N - 1);
		expect(round.accepted).not.toContain(leaver.deviceId);
		// The accountant charges the round for the noise that reached the sum: z·sqrt(6/7), not z.
		const effective = noiseMultiplier * Math.sqrt((N - 1) / N);
		expect(round.privacy?.noiseMultiplier).toBeCloseTo(effective, 12);
		const charged = epsilonAfterRounds([{ sampleRate: round.privacy!.sampleRate, noiseMultiplier: effective }], 1e-5);
		expect(round.privacy?.epsilon).toBeCloseTo(charged.epsilon, 9);
		expect(round.privacy!.epsilon).toBeGreaterThan(epsilonAfterRounds([{ sampleRate: round.privacy!.sampleRate, noiseMultiplier }], 1e-5).epsilon);
		const previous = (await store!.models.loadWeights(project.id, 0))!;
		const next = (await store!.models.loadWeights(project.id, 1))!;
		// What the model would be without noise: the fixed-denominator mean of the L2-clipped deltas.
		const clipped = round.accepted.map((id) => {
			const delta = results.get(id)!.delta;
			const norm = Math.sqrt(delta.reduce((s, v) => s + v * v, 0));
			return norm > clipNorm ? delta.map((v) => (v * clipNorm) / norm) : delta;
		});
		let sum = 0;
		let squares = 0;
		for (let j = 0; j < next.length; j++) {
			let mean = 0;
			for (const c of clipped) mean += c[j];
			const residual = next[j] - previous[j] - mean / N;
			sum += residual;
			squares += residual * residual;
		}
		const mean = sum / next.length;
		const std = Math.sqrt(squares / next.length - mean * mean);
		// Six shares of N(0, (zC)^2 / 7) each, divided by the 7 expected devices (dividing by the 6 that
		// uploaded would make this 17% larger).
		const expected = (noiseMultiplier * clipNorm * Math.sqrt((N - 1) / N)) / N;
		expect(Math.abs(std - expected) / expected).toBeLessThan(0.02);
		expect(Math.abs(mean)).toBeLessThan((4 * expected) / Math.sqrt(next.length));
	}, 300_000);

	it('fails a secure round interrupted by a restart and runs a new one (the exchange was in memory)', async () => {
		const { project, devices } = await secureProject('secure restart', { rounds: 1, secureAggregation: { clip: 1, maxSamplesPerClient: MAX_SAMPLES, degree: null } }, () => {});
		const port = Number(new URL(server!.url).port);
		let restarted: Promise<void> | null = null;
		const restart = async () => {
			await server!.close();
			server = await startQflareServer({ store: store!, port, appHandler: null, dropoutGraceMs: 300, log: (message) => logs.push(message) });
		};
		for (const device of devices) {
			device.subscribe((s) => {
				if (!restarted && s.secure?.phase === 'keys') restarted = restart();
			});
		}
		await owner.call('POST', `/projects/${project.id}/start`);
		await until('the restart to begin', () => (restarted ? true : undefined), 60_000);
		await restarted;
		const status = async () => (await owner.call<Project>('GET', `/projects/${project.id}`)).status;
		await until('the project to complete', async () => ((await status()) === 'completed' ? true : undefined), 240_000);
		const rounds = (await owner.call<Round[]>('GET', `/projects/${project.id}/rounds`)).sort((a, b) => a.number - b.number);
		expect(rounds.map((r) => r.status)).toEqual(['failed', 'committed']);
		expect(rounds[0].failureReason).toMatch(/interrupted by a restart: a secure round cannot be resumed/);
		// The new round selects whoever was back and ready when it opened (at least the minimum of 5).
		expect(rounds[1].selected.length).toBeGreaterThanOrEqual(5);
		expect([...rounds[1].accepted].sort()).toEqual([...rounds[1].selected].sort());
		expect(rounds[1].resultModelVersion).toBe(1);
	}, 300_000);
});
