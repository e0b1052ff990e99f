import {
	decapsulateFrom,
	deriveKemKeys,
	encapsulateFor,
	encodeShare,
	encodeWeighted,
	maskStream,
	maskUpdate,
	quantisationErrorBound,
	splitSecret,
	type RandomBytes
} from '@qflare/fl';
import { generateDeviceKeypair, secaggKeysMessage, signMessage, toBase64, type DeviceKeypair } from '@qflare/pq';
import { secureRoundContext, type SecureAggregationConfig, type SecureNeighbours, type SecureRelay, type SecureUnmaskRequest } from '@qflare/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SecureAggregationRound, SHARE_ENVELOPE_BYTES, secureDegree, secureThreshold, type SecureChannel } from './secure-round';

// Devices are played here with the @qflare/fl math directly (the participant package has its own
// tests against this protocol); envelopes are opaque to the server, so they are random bytes of
// the right size here and the shares they would carry are handed over out of band.

const LENGTH = 6;
const ROUND = 'round-secure-1';

function bytes32(tag: number): Uint8Array {
	return new Uint8Array(maskStream(new Uint8Array(32).fill(tag), 8).buffer);
}

function streamBytes(tag: number): RandomBytes {
	const bytes = new Uint8Array(maskStream(new Uint8Array(32).fill(tag), 8192).buffer);
	let at = 0;
	return (length) => bytes.slice(at, (at += length));
}

interface Device {
	id: string;
	index: number;
	identity: DeviceKeypair;
	keySeed: Uint8Array;
	selfSeed: Uint8Array;
	pairSeeds: Map<number, Uint8Array>;
	/** held.get(owner) = this device's shares of owner's seeds */
	held: Map<number, { self: Uint8Array; key: Uint8Array }>;
	inbox: { neighbours?: SecureNeighbours; relay?: SecureRelay; unmask?: SecureUnmaskRequest[] };
}

const identities = Array.from({ length: 7 }, (_, i) => generateDeviceKeypair(bytes32(40 + i)));

function makeDevices(n: number): Device[] {
	return Array.from({ length: n }, (_, i) => ({
		id: `dev-${i}`,
		index: i,
		identity: identities[i],
		keySeed: bytes32(100 + i),
		selfSeed: bytes32(150 + i),
		pairSeeds: new Map(),
		held: new Map(),
		inbox: {}
	}));
}

function channelTo(devices: Device[]): SecureChannel {
	const byId = new Map(devices.map((d) => [d.id, d]));
	return {
		neighbours: (id, m) => (byId.get(id)!.inbox.neighbours = m),
		relay: (id, m) => (byId.get(id)!.inbox.relay = m),
		unmask: (id, m) => (byId.get(id)!.inbox.unmask ??= []).push(m)
	};
}

const deltas = Array.from({ length: 7 }, (_, i) => Float32Array.from({ length: LENGTH }, (_, j) => (i - 3) / 8 + (j - 2.5) / 12));
const samples = Array.from({ length: 7 }, (_, i) => 40 + 13 * i);

let rounds: SecureAggregationRound[] = [];
afterEach(() => {
	for (const r of rounds) r.dispose();
	rounds = [];
});

function start(
	devices: Device[],
	options: { phaseMs?: number; unmaskMs?: number; onExchanged?: (ids: string[]) => void; config?: SecureAggregationConfig } = {}
) {
	const round = new SecureAggregationRound({
		roundId: ROUND,
		roster: devices.map((d) => d.id),
		config: options.config ?? { clip: 1, maxSamplesPerClient: 1000, degree: null },
		parameterCount: LENGTH,
		graphSeed: bytes32(7),
		dp: null,
		channel: channelTo(devices),
		phaseMs: options.phaseMs ?? 60_000,
		unmaskMs: options.unmaskMs ?? 60_000,
		onExchanged: options.onExchanged
	});
	rounds.push(round);
	return round;
}

function keysOf(d: Device) {
	const maskPublicKey = toBase64(deriveKemKeys(d.keySeed).publicKey);
	const channelPublicKey = toBase64(deriveKemKeys(bytes32(200 + d.index), 'channel').publicKey);
	const signature = toBase64(signMessage(d.identity.secretKey, secaggKeysMessage({ roundId: ROUND, deviceId: d.id, maskPublicKey, channelPublicKey })));
	return { roundId: ROUND, maskPublicKey, channelPublicKey, signature };
}

const context = secureRoundContext(ROUND);
const fakeEnvelope = (from: number, to: number) => toBase64(new Uint8Array(SHARE_ENVELOPE_BYTES).fill(from * 16 + to));

/** What device d sends in the shares phase, and the shares its envelopes would carry (delivered out of band). */
function sharesOf(round: SecureAggregationRound, d: Device, devices: Device[]) {
	const listed = d.inbox.neighbours!.neighbours.map((n) => n.index);
	const holders = round.graph.neighbours(d.index);
	const t = round.setup.threshold;
	const selfShares = splitSecret(d.selfSeed, t, holders.length, streamBytes(d.index + 1));
	const keyShares = splitSecret(d.keySeed, t, holders.length, streamBytes(d.index + 51));
	const ciphertexts = [];
	const envelopes = [];
	for (const v of listed) {
		const p = holders.indexOf(v);
		devices[v].held.set(d.index, { self: encodeShare(selfShares[p]), key: encodeShare(keyShares[p]) });
		envelopes.push({ to: v, envelope: fakeEnvelope(d.index, v) });
		if (v > d.index) {
			const n = d.inbox.neighbours!.neighbours.find((x) => x.index === v)!;
			const { ciphertext, seed } = encapsulateFor(d.keySeed, d.index, v, Buffer.from(n.maskPublicKey, 'base64'), { context });
			d.pairSeeds.set(v, seed);
			ciphertexts.push({ to: v, ciphertext: toBase64(ciphertext) });
		}
	}
	return { roundId: ROUND, ciphertexts, envelopes };
}

function applyRelay(d: Device): void {
	const relay = d.inbox.relay!;
	for (const { from, ciphertext } of relay.ciphertexts) d.pairSeeds.set(from, decapsulateFrom(d.keySeed, d.index, from, Buffer.from(ciphertext, 'base64'), { context }));
	for (const v of [...d.pairSeeds.keys()]) if (!relay.active.includes(v)) d.pairSeeds.delete(v);
}

function maskedOf(round: SecureAggregationRound, d: Device): Uint32Array {
	return maskUpdate(encodeWeighted(deltas[d.index], samples[d.index], round.fixedPoint), { myIndex: d.index, selfSeed: d.selfSeed, pairSeeds: d.pairSeeds });
}

function revealOf(d: Device) {
	const request = d.inbox.unmask!.at(-1)!;
	const shares = [];
	for (const [owner, held] of d.held) {
		if (request.uploaded.includes(owner)) shares.push({ of: owner, kind: 'self' as const, share: toBase64(held.self) });
		else if (request.dropped.includes(owner)) shares.push({ of: owner, kind: 'key' as const, share: toBase64(held.key) });
	}
	return { roundId: ROUND, shares };
}

function exchange(round: SecureAggregationRound, devices: Device[], skipShares: number[] = []): void {
	for (const d of devices) round.acceptKeys(d.id, toBase64(d.identity.publicKey), keysOf(d));
	expect(round.phase).toBe('shares');
	for (const d of devices) if (!skipShares.includes(d.index)) round.acceptShares(d.id, sharesOf(round, d, devices));
}

describe('secure round parameters', () => {
	it('picks an even degree below n, 4 ceil(log2 n) when unset, and a strict-majority threshold', () => {
		expect([3, 6, 15, 16, 50, 100, 1000].map((n) => secureDegree(n, null))).toEqual([2, 4, 14, 14, 24, 28, 40]);
		expect(secureDegree(15, 9)).toBe(8);
		expect(secureDegree(5, 40)).toBe(4);
		expect([2, 4, 8, 14].map(secureThreshold)).toEqual([2, 3, 5, 8]);
	});
});

describe('SecureAggregationRound', () => {
	it('relays, sums and unmasks to the plain weighted mean when one device drops before uploading and one after', async () => {
		const devices = makeDevices(7);
		const excluded: string[][] = [];
		const round = start(devices, { onExchanged: (ids) => excluded.push(ids) });
		expect(round.setup.degree).toBe(6);
		expect(round.setup.threshold).toBe(4);
		exchange(round, devices);
		expect(round.phase).toBe('upload');
		expect(excluded).toEqual([[]]);
		for (const d of devices) {
			applyRelay(d);
			expect(d.pairSeeds.size).toBe(6);
		}
		// Device 5 drops before uploading; device 6 uploads and then leaves without revealing.
		const uploaders = devices.filter((d) => d.index !== 5);
		for (const d of uploaders) round.addMasked(d.id, maskedOf(round, d));
		const unmasking = round.unmask();
		expect(devices[5].inbox.unmask).toBeUndefined();
		for (const d of uploaders) expect(d.inbox.unmask).toEqual([{ roundId: ROUND, uploaded: [0, 1, 2, 3, 4, 6], dropped: [5] }]);
		// Other work runs between the mask expansions: the unmasking gives way after each one.
		let ticks = 0;
		let ticking = true;
		const tick = () => {
			if (!ticking) return;
			ticks++;
			setImmediate(tick);
		};
		setImmediate(tick);
		for (const d of uploaders) if (d.index !== 6) round.acceptReveal(d.id, revealOf(d));
		const sum = await unmasking;
		ticking = false;
		// 6 self masks and device 5's 6 pair masks.
		expect(ticks).toBeGreaterThanOrEqual(12);
		expect(round.phase).toBe('done');
		const total = uploaders.reduce((s, d) => s + samples[d.index], 0);
		expect(sum.totalSamples).toBe(total);
		expect(sum.uploaded).toBe(6);
		expect(sum.droppedBeforeUpload).toBe(1);
		const bound = quantisationErrorBound(round.fixedPoint, 6, total);
		for (let j = 0; j < LENGTH; j++) {
			const plain = uploaders.reduce((s, d) => s + samples[d.index] * deltas[d.index][j], 0) / total;
			expect(Math.abs(sum.mean[j] - plain)).toBeLessThanOrEqual(bound);
		}
		expect(round.stats).toMatchObject({ keys: 7, shares: 7, uploaded: 6, revealed: 5 });
	});

	it('never asks for both seeds of one participant and refuses shares of the wrong kind', async () => {
		const devices = makeDevices(5);
		const round = start(devices, { unmaskMs: 50 });
		exchange(round, devices);
		for (const d of devices) applyRelay(d);
		for (const d of devices.slice(0, 4)) round.addMasked(d.id, maskedOf(round, d));
		const unmasking = round.unmask();
		const request = devices[0].inbox.unmask![0];
		expect(request.uploaded.filter((i) => request.dropped.includes(i))).toEqual([]);
		// Device 0 offers the key seed of uploader 1: refused, and nothing of it is kept.
		const wrong = revealOf(devices[0]);
		wrong.shares = wrong.shares.map((s) => (s.of === 1 ? { ...s, kind: 'key' as const, share: toBase64(devices[0].held.get(1)!.key) } : s));
		expect(() => round.acceptReveal(devices[0].id, wrong)).toThrow(/asked for self, got key/);
		// A device whose update is not in the sum has nothing to reveal.
		expect(() => round.acceptReveal(devices[4].id, { roundId: ROUND, shares: [] })).toThrow(/only devices whose masked update is in the sum/);
		await expect(unmasking).rejects.toThrow(/too few shares/);
		expect(round.phase).toBe('failed');
	});

	it('refuses keys that the device did not sign, a second set of keys, and messages out of phase', () => {
		const devices = makeDevices(4);
		const round = start(devices);
		const forged = { ...keysOf(devices[0]), signature: keysOf(devices[1]).signature };
		expect(() => round.acceptKeys(devices[0].id, toBase64(devices[0].identity.publicKey), forged)).toThrow(/signature does not verify/);
		expect(() => round.acceptKeys('stranger', toBase64(devices[0].identity.publicKey), keysOf(devices[0]))).toThrow(/not in the secure round/);
		expect(() => round.addMasked(devices[0].id, new Uint32Array(LENGTH + 1))).toThrow(/keys phase/);
		round.acceptKeys(devices[0].id, toBase64(devices[0].identity.publicKey), keysOf(devices[0]));
		// The same keys again (a re-send after a lost ack) are fine; other keys are not.
		round.acceptKeys(devices[0].id, toBase64(devices[0].identity.publicKey), keysOf(devices[0]));
		const other = { ...devices[0], keySeed: bytes32(99) };
		expect(() => round.acceptKeys(devices[0].id, toBase64(devices[0].identity.publicKey), keysOf(other))).toThrow(/other keys/);
		expect(round.stats.keys).toBe(1);
	});

	it('refuses shares addressed outside the graph and envelopes of the wrong size', () => {
		const devices = makeDevices(6);
		const round = start(devices);
		for (const d of devices) round.acceptKeys(d.id, toBase64(d.identity.publicKey), keysOf(d));
		const message = sharesOf(round, devices[0], devices);
		const stranger = [1, 2, 3, 4, 5].find((v) => !round.graph.areNeighbours(0, v))!;
		expect(() => round.acceptShares(devices[0].id, { ...message, envelopes: [...message.envelopes, { to: stranger, envelope: fakeEnvelope(0, stranger) }] })).toThrow(
			/not a neighbour/
		);
		expect(() =>
			round.acceptShares(devices[0].id, { ...message, envelopes: message.envelopes.map((e, i) => (i === 0 ? { ...e, envelope: toBase64(new Uint8Array(10)) } : e)) })
		).toThrow(/must be 1252 bytes/);
		expect(round.stats.shares).toBe(0);
	});

	it('moves on without a device that never sent keys once the phase times out, and leaves its edges out', () => {
		const devices = makeDevices(6);
		const excluded: string[][] = [];
		vi.useFakeTimers();
		const round = start(devices, { phaseMs: 30_000, onExchanged: (ids) => excluded.push(ids) });
		for (const d of devices.slice(0, 5)) round.acceptKeys(d.id, toBase64(d.identity.publicKey), keysOf(d));
		vi.advanceTimersByTime(29_999);
		expect(round.phase).toBe('keys');
		vi.advanceTimersByTime(1);
		vi.useRealTimers();
		expect(round.phase).toBe('shares');
		for (const d of devices.slice(0, 5)) expect(d.inbox.neighbours!.neighbours.map((n) => n.index)).not.toContain(5);
		for (const d of devices.slice(0, 5)) round.acceptShares(d.id, sharesOf(round, d, devices));
		expect(round.phase).toBe('upload');
		expect(excluded).toEqual([['dev-5']]);
		expect(() => round.checkUpload('dev-5')).toThrow(/did not complete the key exchange/);
	});

	it('leaves out a device that kept fewer active neighbours than the threshold, and nobody masks with it', async () => {
		const devices = makeDevices(7);
		const excluded: string[][] = [];
		const round = start(devices, { config: { clip: 1, maxSamplesPerClient: 1000, degree: 4 }, onExchanged: (ids) => excluded.push(ids) });
		expect(round.setup.threshold).toBe(3);
		// Two of device 0's four neighbours never send their shares: it keeps 2 < 3.
		const [a, b] = round.graph.neighbours(0);
		exchange(round, devices, [a, b]);
		round.markGone(devices[a].id);
		round.markGone(devices[b].id);
		expect(round.phase).toBe('upload');
		const out = excluded[0];
		expect(out).toEqual(expect.arrayContaining([devices[a].id, devices[b].id, devices[0].id]));
		expect(devices[0].inbox.relay).toBeUndefined();
		expect(() => round.checkUpload(devices[0].id)).toThrow(/did not complete the key exchange/);
		const members = devices.filter((d) => !out.includes(d.id));
		for (const d of members) {
			applyRelay(d);
			expect(d.inbox.relay!.active).not.toContain(0);
		}
		if (members.length < 3) return;
		for (const d of members) round.addMasked(d.id, maskedOf(round, d));
		const unmasking = round.unmask();
		for (const d of members) round.acceptReveal(d.id, revealOf(d));
		const sum = await unmasking;
		expect(sum.totalSamples).toBe(members.reduce((s, d) => s + samples[d.index], 0));
	});

	it('takes back a masked update exactly', async () => {
		const devices = makeDevices(4);
		const round = start(devices);
		exchange(round, devices);
		for (const d of devices) applyRelay(d);
		const words = devices.map((d) => maskedOf(round, d));
		devices.forEach((d, i) => round.addMasked(d.id, words[i]));
		round.removeMasked(devices[3].id, words[3]);
		expect(round.stats.uploaded).toBe(3);
		round.addMasked(devices[3].id, words[3]);
		const unmasking = round.unmask();
		for (const d of devices) round.acceptReveal(d.id, revealOf(d));
		const sum = await unmasking;
		expect(sum.totalSamples).toBe(samples[0] + samples[1] + samples[2] + samples[3]);
	});
});
