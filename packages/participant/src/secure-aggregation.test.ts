import { describe, expect, it } from 'vitest';
import {
	SecureKeysMessage,
	SecureNeighbours,
	SecureRelay,
	SecureRevealMessage,
	SecureSharesMessage,
	decodeMaskedWords,
	secureRoundContext,
	type SecureRoundSetup
} from '@qflare/protocol';
import {
	chooseFixedPoint,
	combineShares,
	createNeighbourGraph,
	decodeShare,
	decodeSum,
	maskStream,
	quantisationErrorBound,
	recoverPairSeed,
	sumModular,
	unmaskSum,
	type DroppedPair,
	type RandomBytes,
	type Share
} from '@qflare/fl';
import { deviceIdFromPublicKey, fromBase64, generateDeviceKeypair, toBase64, type DeviceKeypair } from '@qflare/pq';
import { SecureRoundClient } from './secure-aggregation';

// A whole secure round between real clients and an in-memory server that relays their messages
// and unmasks the sum with the @qflare/fl functions, as apps/server does.

const ROUND = 'round-7';
const N = 8;
// Degree 6 of 7 with threshold 4 (a strict majority): a participant with both droppers among its
// neighbours still has 4 neighbours that answer.
const DEGREE = 6;
const THRESHOLD = 4;
const LENGTH = 6;
const DROPPED_BEFORE = 2;
const DROPPED_AFTER = 5;

function bytes(tag: number, length: number): Uint8Array {
	return new Uint8Array(maskStream(new Uint8Array(32).fill(tag), Math.ceil(length / 4)).buffer).slice(0, length);
}

function stream(tag: number): RandomBytes {
	const all = bytes(tag, 1 << 16);
	let at = 0;
	return (length) => all.slice(at, (at += length));
}

const devices: DeviceKeypair[] = Array.from({ length: N }, (_, i) => generateDeviceKeypair(new Uint8Array(32).fill(i + 1)));
const roster = devices.map((d) => deviceIdFromPublicKey(d.publicKey));
const fixedPoint = chooseFixedPoint({ maxClients: N, maxSamplesPerClient: 100, clip: 1 });
const setup: SecureRoundSetup = {
	roster,
	graphSeed: toBase64(bytes(99, 32)),
	degree: DEGREE,
	threshold: THRESHOLD,
	fixedPoint,
	weighting: 'samples',
	noiseStd: null
};
const graph = createNeighbourGraph(N, DEGREE, bytes(99, 32));

// Δ_i[j] = (i − 3.5)/10 + (j − 2.5)/8; n_i = 40 + 9 i, but 7's 103 samples count as 100 (the cap).
const deltas = roster.map((_, i) => Float32Array.from({ length: LENGTH }, (_, j) => (i - 3.5) / 10 + (j - 2.5) / 8));
const samples = roster.map((_, i) => 40 + 9 * i);

function client(i: number, overrides: Partial<SecureRoundSetup> = {}, notes: string[] = []): SecureRoundClient {
	return new SecureRoundClient({
		roundId: ROUND,
		setup: { ...setup, ...overrides },
		deviceId: roster[i],
		deviceSecretKey: devices[i].secretKey,
		randomBytes: stream(i + 1),
		note: (m) => notes.push(m)
	});
}

/** What the server sends each device after the keys step: the keys of its neighbours that sent theirs. */
function neighboursFor(u: number, keys: ReadonlyMap<number, SecureKeysMessage>): SecureNeighbours {
	return SecureNeighbours.parse({
		roundId: ROUND,
		neighbours: graph
			.neighbours(u)
			.filter((v) => keys.has(v))
			.map((v) => ({ index: v, deviceId: roster[v], devicePublicKey: toBase64(devices[v].publicKey), ...keys.get(v)! }))
	});
}

function relayFor(u: number, shares: ReadonlyMap<number, SecureSharesMessage>): SecureRelay {
	const active = graph.neighbours(u).filter((v) => shares.has(v));
	return SecureRelay.parse({
		roundId: ROUND,
		active,
		ciphertexts: active.flatMap((v) => shares.get(v)!.ciphertexts.filter((c) => c.to === u).map((c) => ({ from: v, ciphertext: c.ciphertext }))),
		envelopes: active.flatMap((v) => shares.get(v)!.envelopes.filter((e) => e.to === u).map((e) => ({ from: v, envelope: e.envelope })))
	});
}

async function keysAndShares(clients: SecureRoundClient[]) {
	const keys = new Map(clients.map((c, i) => [i, SecureKeysMessage.parse(c.keysMessage())]));
	const shares = new Map<number, SecureSharesMessage>();
	for (const [i, c] of clients.entries()) shares.set(i, SecureSharesMessage.parse(await c.onNeighbours(neighboursFor(i, keys))));
	return { keys, shares };
}

describe('SecureRoundClient in a whole round', () => {
	it('unmasks to the weighted mean with one drop before the upload and one after', async () => {
		const clients = roster.map((_, i) => client(i));
		const { keys, shares } = await keysAndShares(clients);
		// Lower index encapsulates: one ciphertext per higher neighbour, one envelope per neighbour.
		for (const [i, message] of shares) {
			expect(message.envelopes.map((e) => e.to)).toEqual(graph.neighbours(i));
			expect(message.ciphertexts.map((c) => c.to)).toEqual(graph.neighbours(i).filter((v) => v > i));
			expect(fromBase64(message.envelopes[0].envelope).length).toBe(1088 + 12 + 136 + 16);
		}
		for (const [i, c] of clients.entries()) {
			expect(await c.onRelay(relayFor(i, shares))).toBe(true);
			expect(c.status).toEqual({ roundId: ROUND, phase: 'ready', neighbours: DEGREE });
		}

		const uploaded = roster.map((_, i) => i).filter((i) => i !== DROPPED_BEFORE);
		const masked = await Promise.all(uploaded.map(async (i) => decodeMaskedWords(await clients[i].maskedPayload(deltas[i], samples[i], null))));
		expect(masked[0].length).toBe(LENGTH + 1);
		const request = { roundId: ROUND, uploaded, dropped: [DROPPED_BEFORE] };
		const answering = uploaded.filter((i) => i !== DROPPED_AFTER);
		const reveals = answering.map((i) => SecureRevealMessage.parse(clients[i].reveal(request)));

		// Server: rebuild self seeds of the uploaders and the key seed of the early dropper.
		const collected = new Map<string, Share[]>();
		for (const reveal of reveals) {
			for (const { of, kind, share } of reveal.shares) {
				const key = `${kind}:${of}`;
				collected.set(key, [...(collected.get(key) ?? []), decodeShare(fromBase64(share))]);
			}
		}
		expect(collected.has(`self:${DROPPED_BEFORE}`)).toBe(false);
		expect([...collected.keys()].filter((k) => k.startsWith('key:'))).toEqual([`key:${DROPPED_BEFORE}`]);
		const rebuild = (kind: string, of: number): Uint8Array => {
			const list = collected.get(`${kind}:${of}`)!;
			expect(list.length).toBeGreaterThanOrEqual(THRESHOLD);
			return combineShares(list);
		};
		const selfSeeds = uploaded.map((u) => rebuild('self', u));
		const droppedKey = rebuild('key', DROPPED_BEFORE);
		const context = secureRoundContext(ROUND);
		const droppedPairs: DroppedPair[] = graph
			.neighbours(DROPPED_BEFORE)
			.filter((u) => uploaded.includes(u))
			.map((u) => {
				const [low, high] = DROPPED_BEFORE < u ? [DROPPED_BEFORE, u] : [u, DROPPED_BEFORE];
				const ciphertext = fromBase64(shares.get(low)!.ciphertexts.find((c) => c.to === high)!.ciphertext);
				const survivorPublicKey = fromBase64(keys.get(u)!.maskPublicKey);
				return { dropped: DROPPED_BEFORE, survivor: u, seed: recoverPairSeed(droppedKey, DROPPED_BEFORE, u, { survivorPublicKey, ciphertext }, context) };
			});
		expect(droppedPairs.length).toBeGreaterThan(0);

		const sum = unmaskSum(sumModular(masked), { selfSeeds, droppedPairs });
		const { mean, totalSamples } = decodeSum(sum, fixedPoint);
		const weights = uploaded.map((i) => Math.min(samples[i], 100));
		const total = weights.reduce((a, b) => a + b, 0);
		expect(total).toBe(6 * 40 + 9 * (0 + 1 + 3 + 4 + 5 + 6) + 100);
		expect(totalSamples).toBe(total);
		const bound = quantisationErrorBound(fixedPoint, uploaded.length, total);
		for (let j = 0; j < LENGTH; j++) {
			const plain = uploaded.reduce((s, i, k) => s + weights[k] * deltas[i][j], 0) / total;
			expect(Math.abs(mean[j] - plain)).toBeLessThanOrEqual(bound);
		}
		// Without the early dropper's pairs the masks stay in.
		expect(() => decodeSum(unmaskSum(sumModular(masked), { selfSeeds, droppedPairs: [] }), fixedPoint)).toThrow(/masks not fully removed/);
	});

	it('answers repeated neighbours and relay messages with the same content', async () => {
		const clients = roster.map((_, i) => client(i));
		const keys = new Map(clients.map((c, i) => [i, c.keysMessage()]));
		const first = await clients[0].onNeighbours(neighboursFor(0, keys));
		expect(await clients[0].onNeighbours(neighboursFor(0, keys))).toBe(first);
		expect(clients[0].keysMessage()).toBe(keys.get(0));
		// Another round's messages are not for this client.
		expect(clients[0].onNeighbours({ ...neighboursFor(0, keys), roundId: 'other' })).toBeNull();
	});
});

describe('SecureRoundClient checks', () => {
	it('drops a neighbour whose keys carry a forged signature, a wrong device id or a non-neighbour index', async () => {
		const notes: string[] = [];
		const clients = roster.map((_, i) => client(i, {}, i === 0 ? notes : []));
		const keys = new Map(clients.map((c, i) => [i, c.keysMessage()]));
		const [a, b, c] = graph.neighbours(0);
		const stranger = roster.map((_, i) => i).find((i) => i !== 0 && !graph.areNeighbours(0, i))!;
		const message = neighboursFor(0, keys);
		// a's mask key swapped for another participant's: a's signature no longer covers it.
		const forged = message.neighbours.map((e) =>
			e.index === a ? { ...e, maskPublicKey: keys.get(c)!.maskPublicKey } : e.index === b ? { ...e, deviceId: roster[c] } : e
		);
		forged.push({ index: stranger, deviceId: roster[stranger], devicePublicKey: toBase64(devices[stranger].publicKey), ...keys.get(stranger)! });
		const shares = (await clients[0].onNeighbours({ roundId: ROUND, neighbours: forged }))!;
		const sentTo = graph.neighbours(0).filter((v) => v !== a && v !== b);
		expect(shares.envelopes.map((e) => e.to)).toEqual(sentTo);
		expect(shares.ciphertexts.map((x) => x.to)).toEqual(sentTo);
		expect(clients[0].status.neighbours).toBe(DEGREE - 2);
		expect(notes).toEqual([
			`secure round: keys of neighbour ${a} dropped: the signature over its keys does not verify`,
			`secure round: keys of neighbour ${b} dropped: device id ${roster[c]} is not roster entry ${b}`,
			`secure round: keys of neighbour ${stranger} dropped: not a neighbour on the round's graph`
		]);
	});

	it('refuses a relay that omits an active lower neighbour\'s ciphertext, and then masks nothing', async () => {
		const notes: string[] = [];
		const clients = roster.map((_, i) => client(i, {}, notes));
		const { shares } = await keysAndShares(clients);
		const u = [...roster.keys()].find((i) => graph.neighbours(i).some((v) => v < i))!;
		const lower = graph.neighbours(u).find((v) => v < u)!;
		const relay = relayFor(u, shares);
		const broken = { ...relay, ciphertexts: relay.ciphertexts.filter((c) => c.from !== lower) };
		expect(await clients[u].onRelay(broken)).toBe(false);
		expect(clients[u].phase).toBe('aborted');
		expect(notes.at(-1)).toBe(`secure round: relay refused, no update will be sent: no mask ciphertext from active neighbour ${lower}`);
		await expect(clients[u].maskedPayload(deltas[u], 10, null)).rejects.toThrow('cannot mask an update in phase aborted');
	});

	it('refuses a relay with fewer active neighbours than the threshold', async () => {
		const clients = roster.map((_, i) => client(i));
		const { shares } = await keysAndShares(clients);
		const relay = relayFor(0, shares);
		const few = relay.active.slice(0, THRESHOLD - 1);
		expect(await clients[0].onRelay({ ...relay, active: few })).toBe(false);
	});

	it('refuses a setup whose threshold is not a strict majority, or that does not list the device', () => {
		expect(() => client(0, { threshold: DEGREE / 2 })).toThrow('threshold 3 is not a strict majority of degree 6');
		expect(() =>
			new SecureRoundClient({ roundId: ROUND, setup, deviceId: 'someone-else', deviceSecretKey: devices[0].secretKey })
		).toThrow("this device is not in the round's roster");
	});

	it('refuses inconsistent unmasking requests and never names one participant both ways', async () => {
		const notes: string[] = [];
		const clients = roster.map((_, i) => client(i, {}, notes));
		const { shares } = await keysAndShares(clients);
		const me = 3;
		const early = clients[me].reveal({ roundId: ROUND, uploaded: [0, 1, 3, 4], dropped: [] });
		expect(early).toBeNull();
		expect(notes.at(-1)).toBe('secure round: unmasking request refused: this device made no masked update (phase shares)');
		expect(await clients[me].onRelay(relayFor(me, shares))).toBe(true);
		await clients[me].maskedPayload(deltas[me], samples[me], null);

		const refused = [
			[{ uploaded: [0, 1, 3, 4], dropped: [4] }, 'participant 4 is listed as uploaded and as dropped'],
			[{ uploaded: [0, 1, 2, 4], dropped: [] }, 'this device is not listed as uploaded'],
			[{ uploaded: [0, 1, 3, 8], dropped: [] }, 'participant 8 is outside the roster of 8'],
			[{ uploaded: [0, 1, 3], dropped: [2] }, '3 uploads, fewer than the threshold 4']
		] as const;
		for (const [sets, why] of refused) {
			expect(clients[me].reveal({ roundId: ROUND, uploaded: [...sets.uploaded], dropped: [...sets.dropped] })).toBeNull();
			expect(notes.at(-1)).toBe(`secure round: unmasking request refused: ${why}`);
		}

		const request = { roundId: ROUND, uploaded: [0, 1, 3, 4, 6, 7], dropped: [2, 5] };
		const answer = clients[me].reveal(request)!;
		const mine = graph.neighbours(me);
		expect(answer.shares.map((s) => [s.of, s.kind])).toEqual(
			mine.map((v) => [v, request.dropped.includes(v) ? 'key' : 'self'])
		);
		// Each share is at this device's x in the owner's neighbour list.
		for (const s of answer.shares) expect(decodeShare(fromBase64(s.share)).x).toBe(graph.neighbours(s.of).indexOf(me) + 1);
		expect(clients[me].reveal(request)).toEqual(answer);
		expect(clients[me].status.phase).toBe('revealed');

		// 5 was named dropped: naming it uploaded now would hand out its self seed as well.
		expect(clients[me].reveal({ roundId: ROUND, uploaded: [0, 1, 3, 4, 5, 6, 7], dropped: [2] })).toBeNull();
		expect(notes.at(-1)).toBe('secure round: unmasking request refused: participant 5 was named dropped before');
		expect(clients[me].reveal({ roundId: ROUND, uploaded: [0, 1, 3, 4, 7], dropped: [2, 5, 6] })).toBeNull();
		expect(notes.at(-1)).toBe('secure round: unmasking request refused: participant 6 was named uploaded before');
	});

	it('pauses between mask expansions, masks once, and sends nothing when the round ends while masking', async () => {
		const clients = roster.map((_, i) => client(i));
		const { shares } = await keysAndShares(clients);
		for (const [i, c] of clients.entries()) expect(await c.onRelay(relayFor(i, shares))).toBe(true);
		let pauses = 0;
		const pause = async () => {
			pauses++;
		};
		const first = clients[0].maskedPayload(deltas[0], samples[0], null, pause);
		expect(clients[0].readyToMask).toBe(false);
		await expect(clients[0].maskedPayload(deltas[0], samples[0], null)).rejects.toThrow('masking already');
		await first;
		// One pause before each of the 6 pair masks (the self mask comes first, with no pause).
		expect(pauses).toBe(DEGREE);
		expect(clients[0].phase).toBe('masked');
		// The round closes (dispose) while device 1 is between two masks.
		const closing = clients[1].maskedPayload(deltas[1], samples[1], null, async () => clients[1].dispose());
		await expect(closing).rejects.toThrow('the round ended while masking (phase aborted)');
		expect(clients[1].phase).toBe('aborted');
	});

	it('clips to the DP norm and adds the configured noise before weighting by one', async () => {
		const overrides: Partial<SecureRoundSetup> = { weighting: 'equal', noiseStd: 0.5 };
		const clients = roster.map((_, i) =>
			new SecureRoundClient({
				roundId: ROUND,
				setup: { ...setup, ...overrides },
				deviceId: roster[i],
				deviceSecretKey: devices[i].secretKey,
				randomBytes: stream(i + 1),
				// Every draw is 1: each coordinate moves by exactly noiseStd.
				gaussian: () => 1
			})
		);
		const { shares } = await keysAndShares(clients);
		for (const [i, c] of clients.entries()) expect(await c.onRelay(relayFor(i, shares))).toBe(true);
		// ‖(3, 4, 0, 0, 0, 0)‖ = 5, clipped to norm 1: (0.6, 0.8, 0, ...), plus 0.5 each.
		const delta = new Float32Array([3, 4, 0, 0, 0, 0]);
		const masked = await Promise.all(clients.map(async (c) => decodeMaskedWords(await c.maskedPayload(delta, 50, 1))));
		// Remove the self masks only: the pair masks cancel in the full sum.
		const selfSeeds = clients.map((_, i) => bytes(i + 1, 64).slice(32, 64));
		const { mean, totalSamples } = decodeSum(unmaskSum(sumModular(masked), { selfSeeds, droppedPairs: [] }), fixedPoint);
		expect(totalSamples).toBe(N);
		const expected = [0.6 + 0.5, 0.8 + 0.5, 0.5, 0.5, 0.5, 0.5].map((v) => Math.min(v, 1));
		const bound = quantisationErrorBound(fixedPoint, N, N);
		mean.forEach((m, j) => expect(Math.abs(m - expected[j])).toBeLessThanOrEqual(bound));
	});
});
