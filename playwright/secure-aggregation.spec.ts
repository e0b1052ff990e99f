import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { chooseFixedPoint, encodeWeighted, quantisationErrorBound } from '@qflare/fl';
import type { LocalTrainResult } from '@qflare/participant';
import { startNodeParticipant, type NodeParticipant } from '@qflare/participant-node';
import type { EventRecord, Round } from '@qflare/protocol';
import type { ApiClient } from './support/api-client';
import { PHONE_VIEWPORT } from './support/local-participant';
import { findLeaks, needles, numberNeedles, OutboundCapture, type Needle } from './support/outbound-capture';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';
import { captureTrainings, type CapturedTraining } from './support/train-capture';

// Secure aggregation end to end: a real server, 5 browser pages and 10 Node participants train 3
// rounds of the MNIST MLP with SecAgg+. In round 2 three participants leave once their masked
// update is accepted (1 page, 2 Node) and two leave after the key exchange, before uploading
// (1 page, 1 Node). Every round must commit the plain FedAvg of its accepted devices' clipped
// deltas within the fixed-point error, and no plain delta may leave a page.

const PAGES = 5;
const NODES = 10;
const CLIP = 1;
const MAX_SAMPLES = 10_000;
const MLP_PARAMETERS = 199_210;

interface Browserside {
	label: string;
	context: BrowserContext;
	page: Page;
	deviceId: string;
	trainings: CapturedTraining[];
}

/** A plain local result and the round it was trained for. */
interface Trained {
	round: number;
	delta: Float32Array;
	numSamples: number;
}

async function joinPage(browser: Browser, url: string, label: string, outbound: OutboundCapture, withholdTraining: number | null = null): Promise<Browserside> {
	const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
	const trainings = await captureTrainings(context, { withholdTraining });
	const page = await context.newPage();
	outbound.attach(label, context, page);
	page.on('pageerror', (e) => console.log(`[${label} page error] ${e.message}`));
	await page.goto(url);
	await page.getByTestId('join-consent').click();
	await expect(page.getByTestId('samples')).toHaveText(/\d{3,}/, { timeout: 120_000 });
	await expect(page.getByTestId('backend')).toHaveText(/wasm|webgl|webgpu|cpu/, { timeout: 120_000 });
	const deviceId = await page.getByTestId('device-id').getAttribute('title');
	if (!deviceId) throw new Error(`${label} shows no device id`);
	return { label, context, page, deviceId, trainings };
}

/**
 * Resolves once the page shows round `round` and, in it, the secure phase 'ready' or the update
 * accepted; checked in the page every 10 ms so the test can close it right after. Resolves with the
 * secure phase shown then.
 */
async function pageReaches(page: Page, round: number, condition: 'secure-ready' | 'update-accepted'): Promise<string> {
	const handle = await page.waitForFunction(
		({ round, condition }) => {
			const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
			if (!new RegExp(`^\\s*${round}\\b`).test(text('round-number'))) return false;
			const phase = document.querySelector('[data-testid="secure-phase"]')?.getAttribute('data-phase') ?? '';
			const reached = condition === 'secure-ready' ? phase === 'ready' : text('train-progress').includes('update accepted');
			return reached ? phase || 'none' : false;
		},
		{ round, condition },
		{ polling: 10, timeout: 4 * 60_000 }
	);
	return (await handle.jsonValue()) as string;
}

async function modelWeights(api: ApiClient, projectId: string, version: number): Promise<Float32Array> {
	const res = await api.request('GET', `/projects/${projectId}/models/${version}/weights.bin`);
	expect(res.status).toBe(200);
	const bytes = new Uint8Array(await res.arrayBuffer());
	expect(bytes.byteLength).toBe(MLP_PARAMETERS * 4);
	return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

const sameWeights = (a: Float32Array, b: Float32Array) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Indices of the k largest |values|. */
function largest(values: Float32Array, k: number): number[] {
	return [...values.keys()].sort((i, j) => Math.abs(values[j]) - Math.abs(values[i])).slice(0, k);
}

/**
 * Patterns that would show a plain delta leaving the page: runs of 4 float32 values starting at
 * its largest coordinates, the same run of its fixed-point encoding (what an unmasked secure upload
 * would carry), each raw and base64, and the largest values as float64. Single float32 values are
 * left out: 4 given bytes turn up by chance in megabytes of masked words (a run saw one of another
 * page's values in a page's frames).
 */
function deltaNeedles(label: string, t: Trained, params: ReturnType<typeof chooseFixedPoint>): Needle[] {
	const encoded = encodeWeighted(t.delta, Math.min(t.numSamples, MAX_SAMPLES), params);
	const out: Needle[] = [];
	for (const j of largest(t.delta, 3)) {
		const at = Math.min(j, t.delta.length - 4);
		out.push(...needles(`${label} delta[${at}..${at + 3}]`, new Uint8Array(t.delta.buffer, t.delta.byteOffset + at * 4, 16)));
		out.push(...needles(`${label} encoded[${at}..${at + 3}]`, new Uint8Array(encoded.buffer, at * 4, 16)));
		out.push(...numberNeedles(`${label} delta[${j}]`, t.delta[j]).filter((n) => n.bytes.length === 8));
	}
	return out;
}

test('secure aggregation with browsers and Node participants commits the plain FedAvg whoever drops, and no plain delta leaves a page', async ({ browser }) => {
	test.setTimeout(8 * 60_000);
	const started = Date.now();
	// Drop-outs are noticed 2 s after a socket goes, not after the production grace.
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start({ env: { QFLARE_DROPOUT_GRACE_MS: '2000' } });
	const api = server.api();
	const outbound = new OutboundCapture();
	const pages: Browserside[] = [];
	const nodes: NodeParticipant[] = [];
	const nodeRoot = mkdtempSync(path.join(tmpdir(), 'qflare-secure-e2e-'));
	try {
		const project = await api.createProject({
			name: 'e2e secure aggregation',
			dataset: 'mnist',
			model: 'mlp',
			partition: 'iid',
			rounds: 3,
			// Round 3 runs with the 10 that stay.
			minParticipants: 10,
			shardCount: PAGES + NODES,
			localEpochs: 1,
			batchSize: 50,
			learningRate: 0.1,
			roundTimeoutSec: 180,
			holdOutFraction: 0,
			secureAggregation: { clip: CLIP, maxSamplesPerClient: MAX_SAMPLES, degree: null }
		});
		const joinToken = await api.joinToken(project.id);
		const joinUrl = api.joinUrl(project.id, joinToken);

		// Page 3 leaves in round 2 after the key exchange, while training. Its relay comes after a
		// browser's training is done (15 key exchanges take longer), so 'ready' would show for an
		// instant only: its second training is withheld to keep it training until it is closed.
		pages.push(...(await Promise.all(Array.from({ length: PAGES }, (_, i) => joinPage(browser, joinUrl, `page-${i}`, outbound, i === 3 ? 2 : null)))));
		const nodeTrained = new Map<NodeParticipant, Trained[]>();
		for (let i = 0; i < NODES; i++) {
			const mine: Trained[] = [];
			let handle: NodeParticipant | null = null;
			const onLocalResult = (r: LocalTrainResult) => mine.push({ round: handle?.state().currentRound?.roundNumber ?? 0, delta: r.delta.slice(), numSamples: r.numSamples });
			handle = await startNodeParticipant({
				server: server.url,
				project: project.id,
				joinToken,
				dataDir: path.join(nodeRoot, `node-${i}`),
				name: `secure-node-${i}`,
				reconnectionDelayMs: 200,
				reconnectionDelayMaxMs: 1_000,
				onLocalResult
			});
			nodes.push(handle);
			nodeTrained.set(handle, mine);
		}
		await expect.poll(async () => (await api.devices(project.id)).filter((d) => d.online && d.samples > 0).length, { timeout: 120_000 }).toBe(PAGES + NODES);
		const joinedAt = Date.now();

		// Round 2's leavers. Node participants stop inside their state listener, so at exactly the
		// state; pages are closed by the test as soon as they show it.
		const [pageBefore, pageAfter] = [pages[3], pages[4]];
		const [nodeBefore, ...nodesAfter] = [nodes[7], nodes[8], nodes[9]];
		nodeBefore.subscribe((s) => {
			if (s.currentRound?.roundNumber === 2 && s.secure?.roundId === s.currentRound.roundId && s.secure.phase === 'ready') nodeBefore.stop();
		});
		for (const node of nodesAfter) {
			node.subscribe((s) => {
				if (s.currentRound?.roundNumber === 2 && s.upload === 'accepted') node.stop();
			});
		}
		let pageAfterPhase = '';
		const leaving = [
			pageReaches(pageBefore.page, 2, 'secure-ready').then(() => pageBefore.context.close()),
			pageReaches(pageAfter.page, 2, 'update-accepted').then(async (phase) => {
				await pageAfter.context.close();
				pageAfterPhase = phase;
			})
		];
		const left = Promise.all(leaving);
		// Awaited after the rounds; until then a failure must not surface as an unhandled rejection.
		left.catch(() => {});

		await api.start(project.id);
		const rounds = (await api.waitForRounds(project.id, (r) => r.filter((x) => x.status === 'committed' || x.status === 'failed').length >= 3, 5 * 60_000)).sort((a: Round, b: Round) => a.number - b.number);
		await left;
		const trainedAt = Date.now();
		expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed', 'committed']);
		expect(nodeBefore.state().phase).toBe('stopped');
		for (const node of nodesAfter) expect(node.state().phase).toBe('stopped');

		const all = [...pages.map((p) => p.deviceId), ...nodes.map((n) => n.deviceId)].sort();
		const leftBefore = [pageBefore.deviceId, nodeBefore.deviceId];
		const leftAfter = [pageAfter.deviceId, ...nodesAfter.map((n) => n.deviceId)];
		const stayed = all.filter((d) => !leftBefore.includes(d) && !leftAfter.includes(d));
		expect([...rounds[0].selected].sort()).toEqual(all);
		expect([...rounds[0].accepted].sort()).toEqual(all);
		expect([...rounds[1].selected].sort()).toEqual(all);
		// The masked updates of those who left after uploading are in the sum; the others sent nothing.
		expect([...rounds[1].accepted].sort()).toEqual(all.filter((d) => !leftBefore.includes(d)));
		expect([...rounds[2].selected].sort()).toEqual(stayed);
		expect([...rounds[2].accepted].sort()).toEqual(stayed);

		// What the server says it unmasked, round by round.
		const events = (await (await api.request('GET', `/projects/${project.id}/events`)).json()) as EventRecord[];
		const unmasked = events
			.filter((e) => e.type === 'round.unmasked')
			.map((e) => /^round (\d+): secure sum of (\d+) masked updates unmasked \((\d+) dropped before uploading, (\d+) devices revealed shares/.exec(e.message))
			.map((m) => (m ? { round: Number(m[1]), uploaded: Number(m[2]), dropped: Number(m[3]), revealed: Number(m[4]) } : null))
			.sort((a, b) => (a?.round ?? 0) - (b?.round ?? 0));
		expect(unmasked.map((u) => u && [u.round, u.uploaded, u.dropped])).toEqual([
			[1, 15, 0],
			[2, 13, 2],
			[3, 10, 0]
		]);
		// The round records say the same (the dashboard's rounds table shows them).
		expect(rounds.map((r) => r.secure && [r.secure.uploaded, r.secure.droppedBeforeUpload, r.secure.revealed])).toEqual(
			unmasked.map((u) => u && [u.uploaded, u.dropped, u.revealed])
		);
		// Unmasking stops once every owner has a threshold of shares: a strict majority of the
		// neighbours, 8 of 14 with 15 devices, 5 of 8 with 10 (secureDegree/secureThreshold in the
		// server). Only those still there can reveal: the Node leavers stopped at their acceptance;
		// the page is closed by the test a few ms after it shows it, so an unmask request may beat that.
		expect(unmasked[0]?.revealed).toBeGreaterThanOrEqual(8);
		expect(unmasked[0]?.revealed).toBeLessThanOrEqual(15);
		expect(unmasked[1]?.revealed).toBeGreaterThanOrEqual(8);
		expect(unmasked[1]?.revealed).toBeLessThanOrEqual(stayed.length + 1);
		expect(unmasked[2]?.revealed).toBeGreaterThanOrEqual(5);
		expect(unmasked[2]?.revealed).toBeLessThanOrEqual(10);

		// Every plain delta, by device and round: Node ones from onLocalResult, page ones from the
		// worker, matched to a round by the global weights they trained from.
		const versions = new Map<number, Float32Array>();
		for (let v = 0; v <= 3; v++) versions.set(v, await modelWeights(api, project.id, v));
		const trained = new Map<string, Trained[]>();
		for (const [node, list] of nodeTrained) trained.set(node.deviceId, list);
		for (const p of pages) {
			trained.set(
				p.deviceId,
				p.trainings.map((t) => {
					const base = [...versions].find(([, w]) => sameWeights(w, t.global));
					if (!base) throw new Error(`${p.label} trained from weights that are no model version`);
					return { round: base[0] + 1, delta: t.delta, numSamples: t.numSamples };
				})
			);
		}
		// Each page trained once per round it was in.
		expect(pages.map((p) => trained.get(p.deviceId)!.map((t) => t.round))).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1], [1, 2]]);

		const numbers: string[] = [];
		for (const round of rounds) {
			const params = chooseFixedPoint({ maxClients: round.selected.length, maxSamplesPerClient: MAX_SAMPLES, clip: CLIP });
			const previous = versions.get(round.baseModelVersion)!;
			const next = versions.get(round.resultModelVersion!)!;
			const updates = round.accepted.map((deviceId) => {
				const found = trained.get(deviceId)?.filter((t) => t.round === round.number) ?? [];
				expect(found, `${deviceId} in round ${round.number}`).toHaveLength(1);
				return found[0];
			});
			const weights = updates.map((u) => Math.min(u.numSamples, MAX_SAMPLES));
			const total = weights.reduce((a, b) => a + b, 0);
			expect(round.totalSamples).toBe(total);
			const bound = quantisationErrorBound(params, updates.length, total);
			let worst = 0;
			let moved = 0;
			for (let j = 0; j < next.length; j++) {
				let sum = 0;
				for (let k = 0; k < updates.length; k++) sum += weights[k] * Math.max(-CLIP, Math.min(CLIP, updates[k].delta[j]));
				const plain = previous[j] + sum / total;
				// Adding the mean to the float32 weights rounds once more: half an ulp of the result.
				worst = Math.max(worst, Math.abs(next[j] - plain) - Math.abs(plain) * 2 ** -24);
				moved = Math.max(moved, Math.abs(next[j] - previous[j]));
			}
			expect(worst).toBeLessThanOrEqual(bound);
			// A real model moved: the check is not comparing a model with itself.
			expect(moved).toBeGreaterThan(1e-3);
			const wall = (Date.parse(round.endedAt!) - Date.parse(round.startedAt)) / 1000;
			numbers.push(
				`round ${round.number}: ${round.accepted.length}/${round.selected.length} accepted, ${total} samples, ${wall.toFixed(1)} s, ` +
					`test accuracy ${round.metrics.testAccuracy?.toFixed(4)}, max error ${worst.toExponential(2)} vs bound ${bound.toExponential(2)}, ` +
					`revealed ${unmasked[round.number - 1]?.revealed}`
			);
		}
		// 80 steps of SGD a round: a model that learns, not a tuned one.
		expect(rounds[2].metrics.testAccuracy).toBeGreaterThan(0.7);
		expect(rounds[2].metrics.testAccuracy!).toBeGreaterThan(rounds[0].metrics.testAccuracy!);

		// The masked updates are what left the pages: their bytes were seen, the plain deltas never.
		const acceptedFromPages = rounds.flatMap((r) => r.accepted.filter((d) => pages.some((p) => p.deviceId === d))).length;
		expect(acceptedFromPages).toBe(5 + 4 + 3);
		expect(outbound.sentBytes()).toBeGreaterThan(acceptedFromPages * MLP_PARAMETERS * 4);
		const patterns: Needle[] = [];
		for (const p of pages) {
			for (const t of trained.get(p.deviceId)!) {
				const params = chooseFixedPoint({ maxClients: rounds[t.round - 1].selected.length, maxSamplesPerClient: MAX_SAMPLES, clip: CLIP });
				patterns.push(...deltaNeedles(`${p.label} round ${t.round}`, t, params));
			}
		}
		// The search finds a plain delta where one is: an unmasked upload would be caught.
		const sample = trained.get(pages[0].deviceId)![0];
		const sampleParams = chooseFixedPoint({ maxClients: PAGES + NODES, maxSamplesPerClient: MAX_SAMPLES, clip: CLIP });
		const plainUpload = Buffer.from(encodeWeighted(sample.delta, Math.min(sample.numSamples, MAX_SAMPLES), sampleParams).buffer);
		expect(findLeaks([{ where: 'control', bytes: Buffer.concat([Buffer.from(sample.delta.buffer), plainUpload]) }], deltaNeedles('control', sample, sampleParams)).length).toBeGreaterThan(0);
		expect(findLeaks(outbound.messages, patterns)).toEqual([]);

		for (const line of numbers) console.log(line);
		console.log(
			`pages sent ${(outbound.sentBytes() / 1e6).toFixed(1)} MB in ${outbound.messages.length} messages; ${patterns.length} needles; ` +
				`page left after upload showed "${pageAfterPhase}"; joining ${((joinedAt - started) / 1000).toFixed(1)} s, ` +
				`3 rounds ${((trainedAt - joinedAt) / 1000).toFixed(1)} s, whole test ${((Date.now() - started) / 1000).toFixed(1)} s`
		);
	} catch (error) {
		console.log(`server output, last lines:\n${server.output.slice(-60).join('\n')}`);
		throw error;
	} finally {
		for (const node of nodes) node.stop();
		for (const p of pages) await p.context.close().catch(() => {});
		await server.stop();
		rmSync(nodeRoot, { recursive: true, force: true });
	}
});
