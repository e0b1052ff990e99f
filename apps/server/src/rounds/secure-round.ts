import {
	chooseFixedPoint,
	combineShares,
	createNeighbourGraph,
	decodeShare,
	decodeSum,
	deriveKemKeys,
	KEM_CIPHERTEXT_BYTES,
	KEM_PUBLIC_KEY_BYTES,
	recoverPairSeed,
	SHAMIR_SHARE_BYTES,
	addModularInPlace,
	subtractModular,
	unmaskSteps,
	type DroppedPair,
	type FixedPointParams,
	type NeighbourGraph,
	type Share
} from '@qflare/fl';
import { fromBase64, secaggKeysMessage, toBase64, verifySignature } from '@qflare/pq';
import {
	ErrorCode,
	ProtocolError,
	secureRoundContext,
	type SecureAggregationConfig,
	type SecureKeysMessage,
	type SecureNeighbourKeys,
	type SecureNeighbours,
	type SecureRelay,
	type SecureRevealMessage,
	type SecureRoundSetup,
	type SecureSharesMessage,
	type SecureUnmaskRequest
} from '@qflare/protocol';

// The server's side of one secure round (SecAgg+; message flow in @qflare/protocol's
// secure-aggregation.ts). It relays keys, ciphertexts and sealed share envelopes between graph
// neighbours, sums the masked uploads modulo 2^32 and, once asked, collects the survivors' shares
// and removes the masks from the sum. It never holds an individual unmasked update: it opens no
// envelope, and it asks for the self-seed shares of uploaders and the key-seed shares of
// participants that dropped before uploading, never both for one participant.
//
// The round coordinator drives it: it passes device messages in, tells it who left, and awaits
// unmask() at the close. Phases end when every roster member answered or left, or at a timeout.

/** Sealed share envelope: ML-KEM ciphertext, AES-GCM nonce, two encoded shares, GCM tag. */
export const SHARE_ENVELOPE_BYTES = KEM_CIPHERTEXT_BYTES + 12 + 2 * SHAMIR_SHARE_BYTES + 16;

export type SecurePhase = 'keys' | 'shares' | 'upload' | 'unmask' | 'done' | 'failed';

/** How the round reaches devices; implemented over Socket.IO. */
export interface SecureChannel {
	neighbours(deviceId: string, message: SecureNeighbours): void;
	relay(deviceId: string, message: SecureRelay): void;
	unmask(deviceId: string, message: SecureUnmaskRequest): void;
}

export interface SecureRoundOptions {
	roundId: string;
	/** The round's selected devices, sorted: index = place in this list. */
	roster: readonly string[];
	config: SecureAggregationConfig;
	/** Model parameters (the masked vector has one more word: the sample count). */
	parameterCount: number;
	graphSeed: Uint8Array;
	/** DP-FedAvg: equal weights and each device's share of the noise. */
	dp: { clipNorm: number; noiseMultiplier: number } | null;
	channel: SecureChannel;
	/** How long the keys and shares phases wait for devices that have not answered. */
	phaseMs: number;
	/** How long unmask() waits for shares. */
	unmaskMs: number;
	/** Called once the exchange ends, with the roster members that cannot upload (no completed exchange). */
	onExchanged?: (excluded: string[]) => void;
	log?: (message: string) => void;
}

export interface SecureSum {
	/** Σ n_k·Δ_k / Σ n_k over the uploaded updates (with 'equal' weighting, n_k = 1). */
	mean: Float32Array;
	totalSamples: number;
	uploaded: number;
	droppedBeforeUpload: number;
}

export interface SecureRoundStats {
	/** Devices whose keys, shares, masked update and revealed shares the round took. */
	keys: number;
	shares: number;
	uploaded: number;
	revealed: number;
	/** Milliseconds spent in unmask() recovering seeds and removing masks. */
	unmaskMs: number | null;
}

interface Advertised {
	maskPublicKey: Uint8Array;
	/** As received, relayed unchanged. */
	message: SecureNeighbourKeys;
}

/** Neighbours per participant: the configured degree, or min(n - 1, 4 ceil(log2 n)), even and below n. */
export function secureDegree(n: number, requested: number | null): number {
	const evenFloor = (x: number) => x - (x % 2);
	const cap = evenFloor(n - 1);
	const wanted = requested ?? 4 * Math.ceil(Math.log2(n));
	return Math.max(2, Math.min(cap, evenFloor(wanted)));
}

/** A strict majority of the neighbours (see suggestedThreshold in @qflare/fl). */
export function secureThreshold(degree: number): number {
	return Math.floor(degree / 2) + 1;
}

const refuse = (message: string): never => {
	throw new ProtocolError(ErrorCode.SchemaInvalid, message);
};

function decode(value: string, what: string, length: number): Uint8Array {
	let bytes: Uint8Array;
	try {
		bytes = fromBase64(value);
	} catch {
		return refuse(`${what} is not valid base64`);
	}
	if (bytes.length !== length) refuse(`${what} must be ${length} bytes, got ${bytes.length}`);
	return bytes;
}

const edgeKey = (a: number, b: number) => (a < b ? `${a}-${b}` : `${b}-${a}`);

export class SecureAggregationRound {
	readonly setup: SecureRoundSetup;
	readonly graph: NeighbourGraph;
	#phase: SecurePhase = 'keys';
	readonly #opts: SecureRoundOptions;
	readonly #index: Map<string, number>;
	readonly #params: FixedPointParams;
	readonly #context: Uint8Array;
	/** Left the round (offline past the grace, or rejected): not waited for. */
	readonly #gone = new Set<number>();
	readonly #keys = new Map<number, Advertised>();
	/** U1: sent their shares message. */
	readonly #shared = new Map<number, SecureSharesMessage>();
	/** Mask ciphertexts by edge (from the lower index). */
	readonly #ciphertexts = new Map<string, Uint8Array>();
	/** envelopes.get(to).get(from) */
	readonly #envelopes = new Map<number, Map<number, string>>();
	/** Each member of U1's neighbours whose pair seeds it masks with (symmetric). */
	readonly #active = new Map<number, number[]>();
	readonly #relays = new Map<number, SecureRelay>();
	/** U2: masked update in the sum. */
	readonly #uploaded = new Set<number>();
	readonly #sum: Uint32Array;
	#unmaskRequest: Omit<SecureUnmaskRequest, 'roundId'> | null = null;
	/** Shares revealed per owner: self shares of uploaders, key shares of those who dropped. */
	readonly #revealed = new Map<number, Map<number, Share>>();
	readonly #revealedBy = new Set<number>();
	#unmaskMs: number | null = null;
	#timer: NodeJS.Timeout | null = null;
	#unmaskDone: (() => void) | null = null;

	constructor(options: SecureRoundOptions) {
		this.#opts = options;
		const n = options.roster.length;
		if (n < 3) throw new Error(`secure aggregation needs at least 3 participants, the round has ${n}`);
		this.#index = new Map(options.roster.map((id, i) => [id, i]));
		const degree = secureDegree(n, options.config.degree);
		this.graph = createNeighbourGraph(n, degree, options.graphSeed);
		const equal = options.dp !== null;
		this.#params = chooseFixedPoint({ maxClients: n, maxSamplesPerClient: equal ? 1 : options.config.maxSamplesPerClient, clip: options.config.clip });
		this.#context = secureRoundContext(options.roundId);
		this.#sum = new Uint32Array(options.parameterCount + 1);
		this.setup = {
			roster: [...options.roster],
			graphSeed: toBase64(options.graphSeed),
			degree,
			threshold: secureThreshold(degree),
			fixedPoint: { ...this.#params },
			weighting: equal ? 'equal' : 'samples',
			noiseStd: options.dp ? (options.dp.noiseMultiplier * options.dp.clipNorm) / Math.sqrt(n) : null
		};
		this.#arm();
	}

	get phase(): SecurePhase {
		return this.#phase;
	}

	get stats(): SecureRoundStats {
		return { keys: this.#keys.size, shares: this.#shared.size, uploaded: this.#uploaded.size, revealed: this.#revealedBy.size, unmaskMs: this.#unmaskMs };
	}

	/** Fixed-point parameters the masked words are encoded with. */
	get fixedPoint(): FixedPointParams {
		return this.#params;
	}

	#indexOf(deviceId: string): number {
		const i = this.#index.get(deviceId);
		if (i === undefined) throw new ProtocolError(ErrorCode.NotSelected, 'this device is not in the secure round');
		return i;
	}

	#expect(phase: SecurePhase, what: string): void {
		if (this.#phase !== phase) throw new ProtocolError(ErrorCode.Conflict, `${what} arrived in the ${this.#phase} phase of the secure round`);
	}

	/** Phase 1: a device's fresh ML-KEM keys, signed with its ML-DSA device key. An identical repeat is accepted again. */
	acceptKeys(deviceId: string, devicePublicKey: string, message: SecureKeysMessage): void {
		const me = this.#indexOf(deviceId);
		const earlier = this.#keys.get(me);
		if (earlier) {
			const same = earlier.message.maskPublicKey === message.maskPublicKey && earlier.message.channelPublicKey === message.channelPublicKey;
			if (same) return;
			throw new ProtocolError(ErrorCode.Replay, 'this device already sent other keys for the round');
		}
		this.#expect('keys', 'keys');
		const maskPublicKey = decode(message.maskPublicKey, 'maskPublicKey', KEM_PUBLIC_KEY_BYTES);
		decode(message.channelPublicKey, 'channelPublicKey', KEM_PUBLIC_KEY_BYTES);
		const signed = secaggKeysMessage({ roundId: this.#opts.roundId, deviceId, maskPublicKey: message.maskPublicKey, channelPublicKey: message.channelPublicKey });
		let valid = false;
		try {
			valid = verifySignature(fromBase64(devicePublicKey), signed, fromBase64(message.signature));
		} catch {
			valid = false;
		}
		if (!valid) throw new ProtocolError(ErrorCode.BadSignature, "the keys' signature does not verify with this device's public key");
		this.#keys.set(me, {
			maskPublicKey,
			message: { index: me, deviceId, devicePublicKey, maskPublicKey: message.maskPublicKey, channelPublicKey: message.channelPublicKey, signature: message.signature }
		});
		this.#advanceIfComplete();
	}

	/** Phase 2: ciphertexts to higher neighbours and share envelopes to all neighbours, each to one that sent keys. */
	acceptShares(deviceId: string, message: SecureSharesMessage): void {
		const me = this.#indexOf(deviceId);
		if (this.#shared.has(me)) {
			if (JSON.stringify(this.#shared.get(me)) === JSON.stringify(message)) return;
			throw new ProtocolError(ErrorCode.Replay, 'this device already sent other shares for the round');
		}
		this.#expect('shares', 'shares');
		if (!this.#keys.has(me)) throw new ProtocolError(ErrorCode.Conflict, 'this device sent no keys for the round');
		const ciphertexts = new Map<number, Uint8Array>();
		for (const { to, ciphertext } of message.ciphertexts) {
			if (!this.#keys.has(to) || !this.graph.areNeighbours(me, to) || to < me) refuse(`ciphertext to ${to}: not a higher neighbour that sent keys`);
			if (ciphertexts.has(to)) refuse(`two ciphertexts to ${to}`);
			ciphertexts.set(to, decode(ciphertext, `ciphertext to ${to}`, KEM_CIPHERTEXT_BYTES));
		}
		const envelopes = new Map<number, string>();
		for (const { to, envelope } of message.envelopes) {
			if (!this.#keys.has(to) || !this.graph.areNeighbours(me, to)) refuse(`envelope to ${to}: not a neighbour that sent keys`);
			if (envelopes.has(to)) refuse(`two envelopes to ${to}`);
			decode(envelope, `envelope to ${to}`, SHARE_ENVELOPE_BYTES);
			envelopes.set(to, envelope);
		}
		for (const [to, ciphertext] of ciphertexts) this.#ciphertexts.set(edgeKey(me, to), ciphertext);
		for (const [to, envelope] of envelopes) {
			let inbox = this.#envelopes.get(to);
			if (!inbox) this.#envelopes.set(to, (inbox = new Map()));
			inbox.set(me, envelope);
		}
		this.#shared.set(me, message);
		this.#advanceIfComplete();
	}

	/** Throws unless the device may upload a masked update now. */
	checkUpload(deviceId: string): void {
		const me = this.#indexOf(deviceId);
		if (this.#phase !== 'upload') {
			throw new ProtocolError(ErrorCode.Conflict, `a masked update arrived in the ${this.#phase} phase of the secure round`);
		}
		if (!this.#active.has(me)) throw new ProtocolError(ErrorCode.Conflict, 'this device did not complete the key exchange of the secure round');
	}

	/** Phase 3: adds a device's masked words (parameters + 1) to the sum. */
	addMasked(deviceId: string, words: Uint32Array): void {
		this.checkUpload(deviceId);
		const me = this.#indexOf(deviceId);
		if (words.length !== this.#sum.length) refuse(`masked update has ${words.length} words, expected ${this.#sum.length}`);
		if (this.#uploaded.has(me)) throw new ProtocolError(ErrorCode.Replay, 'this device already uploaded a masked update');
		addModularInPlace(this.#sum, words);
		this.#uploaded.add(me);
	}

	/** Takes back a masked update whose write to the store failed (it was never acknowledged). */
	removeMasked(deviceId: string, words: Uint32Array): void {
		const me = this.#indexOf(deviceId);
		if (!this.#uploaded.delete(me)) return;
		this.#sum.set(subtractModular(this.#sum, words));
	}

	/** The device left (offline past the grace, or its update was refused): no phase waits for it. */
	markGone(deviceId: string): void {
		const i = this.#index.get(deviceId);
		if (i === undefined) return;
		this.#gone.add(i);
		this.#advanceIfComplete();
	}

	/** Re-sends what a device that reconnected may have missed. */
	resend(deviceId: string): void {
		const i = this.#index.get(deviceId);
		if (i === undefined) return;
		const relay = this.#relays.get(i);
		if (this.#phase === 'unmask' && this.#unmaskRequest && this.#uploaded.has(i)) {
			this.#opts.channel.unmask(deviceId, { roundId: this.#opts.roundId, ...this.#unmaskRequest });
		} else if (relay) {
			this.#opts.channel.relay(deviceId, relay);
		} else if (this.#phase === 'shares' && this.#keys.has(i)) {
			this.#opts.channel.neighbours(deviceId, this.#neighboursOf(i));
		}
	}

	#arm(): void {
		this.#clearTimer();
		this.#timer = setTimeout(() => this.#advance('timeout'), this.#opts.phaseMs);
	}

	#clearTimer(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	#advanceIfComplete(): void {
		const answered = this.#phase === 'keys' ? this.#keys : this.#phase === 'shares' ? this.#shared : null;
		if (!answered) return;
		const candidates = this.#phase === 'keys' ? this.#opts.roster.map((_, i) => i) : [...this.#keys.keys()];
		if (candidates.every((i) => answered.has(i) || this.#gone.has(i))) this.#advance('complete');
	}

	#advance(why: 'complete' | 'timeout'): void {
		if (this.#phase === 'keys') {
			this.#log(`keys from ${this.#keys.size} of ${this.#opts.roster.length} devices (${why})`);
			this.#phase = 'shares';
			for (const i of this.#keys.keys()) {
				if (this.#gone.has(i)) continue;
				this.#opts.channel.neighbours(this.#opts.roster[i], this.#neighboursOf(i));
			}
			this.#arm();
			this.#advanceIfComplete();
		} else if (this.#phase === 'shares') {
			this.#clearTimer();
			this.#phase = 'upload';
			const isolated = this.#computeActive();
			this.#log(`shares from ${this.#shared.size} of ${this.#keys.size} devices (${why}); ${this.#active.size} may upload`);
			for (const i of isolated) this.#log(`${this.#opts.roster[i]} kept fewer active neighbours than the threshold ${this.setup.threshold}: left out`);
			for (const [i, active] of this.#active) {
				const relay = this.#relayFor(i, active);
				this.#relays.set(i, relay);
				this.#opts.channel.relay(this.#opts.roster[i], relay);
			}
			this.#opts.onExchanged?.(this.#opts.roster.filter((_, i) => !this.#active.has(i)));
		}
	}

	#neighboursOf(i: number): SecureNeighbours {
		const neighbours = this.graph
			.neighbours(i)
			.filter((j) => this.#keys.has(j))
			.map((j) => this.#keys.get(j)!.message);
		return { roundId: this.#opts.roundId, neighbours };
	}

	/**
	 * An edge masks on both sides only if both ends sent their shares and each end sent the other
	 * everything the edge needs (the lower end's ciphertext, an envelope each way). A device that
	 * refused a neighbour's keys leaves that edge out on both sides, so the masks still cancel.
	 * Members left with fewer active neighbours than the threshold are taken out, which can leave
	 * others short in turn, until none is: neither seed of such a device could be rebuilt, so it is
	 * left out as if it had sent nothing (the device refuses such a relay too). Returns those.
	 */
	#computeActive(): number[] {
		const isolated: number[] = [];
		const members = new Set(this.#shared.keys());
		const complete = (u: number, v: number): boolean =>
			members.has(u) &&
			members.has(v) &&
			this.#ciphertexts.has(edgeKey(u, v)) &&
			this.#envelopes.get(u)?.has(v) === true &&
			this.#envelopes.get(v)?.has(u) === true;
		for (;;) {
			const short = [...members].filter((u) => this.graph.neighbours(u).filter((v) => complete(u, v)).length < this.setup.threshold);
			if (short.length === 0) break;
			for (const u of short) {
				members.delete(u);
				isolated.push(u);
			}
		}
		for (const u of members) this.#active.set(u, this.graph.neighbours(u).filter((v) => complete(u, v)));
		return isolated;
	}

	#relayFor(i: number, active: number[]): SecureRelay {
		const inbox = this.#envelopes.get(i) ?? new Map<number, string>();
		return {
			roundId: this.#opts.roundId,
			active,
			ciphertexts: active.filter((v) => v < i).map((v) => ({ from: v, ciphertext: toBase64(this.#ciphertexts.get(edgeKey(v, i))!) })),
			envelopes: active.map((v) => ({ from: v, envelope: inbox.get(v)! }))
		};
	}

	/**
	 * Phase 4: asks every uploader for its shares and resolves with the unmasked, decoded sum once
	 * every mask can come off. Rejects when too few shares arrive in time (the round then fails:
	 * no partial result can be decoded).
	 */
	async unmask(): Promise<SecureSum> {
		if (this.#phase === 'keys' || this.#phase === 'shares') throw new Error(`secure aggregation: the round closed in the ${this.#phase} phase of the key exchange`);
		if (this.#phase !== 'upload') throw new Error(`unmask() in the ${this.#phase} phase`);
		this.#clearTimer();
		const uploaded = [...this.#uploaded].sort((a, b) => a - b);
		const dropped = [...this.#active.keys()].filter((i) => !this.#uploaded.has(i)).sort((a, b) => a - b);
		if (uploaded.length < this.setup.threshold) {
			this.#phase = 'failed';
			throw new Error(`secure aggregation: ${uploaded.length} masked updates, at least ${this.setup.threshold} needed to unmask`);
		}
		this.#phase = 'unmask';
		this.#unmaskRequest = { uploaded, dropped };
		const done = new Promise<void>((resolve) => {
			this.#unmaskDone = resolve;
		});
		for (const i of uploaded) this.#opts.channel.unmask(this.#opts.roster[i], { roundId: this.#opts.roundId, uploaded, dropped });
		if (!this.#unmaskable()) {
			const timeout = new Promise<void>((resolve) => {
				this.#timer = setTimeout(resolve, this.#opts.unmaskMs);
			});
			await Promise.race([done, timeout]);
			this.#clearTimer();
		}
		this.#unmaskDone = null;
		if (!this.#unmaskable()) {
			this.#phase = 'failed';
			throw new Error(`secure aggregation: too few shares in ${this.#opts.unmaskMs} ms to unmask (${this.#missing().join(', ')})`);
		}
		const started = performance.now();
		const sum = await this.#unmaskNow(uploaded, dropped);
		this.#unmaskMs = performance.now() - started;
		this.#phase = 'done';
		return sum;
	}

	/** Phase 4: a device's shares of its neighbours' seeds, of the kind the request named for each. */
	acceptReveal(deviceId: string, message: SecureRevealMessage): void {
		const me = this.#indexOf(deviceId);
		this.#expect('unmask', 'shares');
		const request = this.#unmaskRequest!;
		if (!this.#uploaded.has(me)) throw new ProtocolError(ErrorCode.Conflict, 'only devices whose masked update is in the sum reveal shares');
		if (this.#revealedBy.has(me)) return;
		const uploaded = new Set(request.uploaded);
		const dropped = new Set(request.dropped);
		const shares: [number, Share][] = [];
		const seen = new Set<number>();
		for (const { of, kind, share } of message.shares) {
			if (seen.has(of)) refuse(`two shares of ${of}`);
			seen.add(of);
			// Only shares this device was sent: an envelope from `of` to it was relayed.
			if (!this.#relays.get(me)?.envelopes.some((e) => e.from === of)) refuse(`no shares of ${of} were relayed to this device`);
			const wanted = uploaded.has(of) ? 'self' : dropped.has(of) ? 'key' : null;
			if (kind !== wanted) refuse(`share of ${of}: the round asked for ${wanted ?? 'none'}, got ${kind}`);
			let decoded: Share;
			try {
				decoded = decodeShare(decode(share, `share of ${of}`, SHAMIR_SHARE_BYTES));
			} catch (e) {
				if (e instanceof ProtocolError) throw e;
				return refuse(`share of ${of}: ${(e as Error).message}`);
			}
			shares.push([of, decoded]);
		}
		for (const [of, share] of shares) {
			let held = this.#revealed.get(of);
			if (!held) this.#revealed.set(of, (held = new Map()));
			held.set(me, share);
		}
		this.#revealedBy.add(me);
		if (this.#unmaskable()) this.#unmaskDone?.();
	}

	#missing(): string[] {
		const { uploaded, dropped } = this.#unmaskRequest!;
		const t = this.setup.threshold;
		return [...uploaded, ...dropped]
			.filter((i) => (this.#revealed.get(i)?.size ?? 0) < t)
			.map((i) => `${this.#opts.roster[i]}: ${this.#revealed.get(i)?.size ?? 0}/${t}`);
	}

	#unmaskable(): boolean {
		return this.#missing().length === 0;
	}

	#seed(owner: number, what: string): Uint8Array {
		const shares = [...this.#revealed.get(owner)!.values()];
		try {
			return combineShares(shares);
		} catch (e) {
			throw new Error(`secure aggregation: the ${what} of ${this.#opts.roster[owner]} could not be rebuilt from ${shares.length} shares: ${(e as Error).message}`);
		}
	}

	/** Removes the masks, giving way to other work after each seed and each mask expansion. */
	async #unmaskNow(uploaded: number[], dropped: number[]): Promise<SecureSum> {
		const selfSeeds = uploaded.map((u) => this.#seed(u, 'self-mask seed'));
		await giveWay();
		const droppedPairs: DroppedPair[] = [];
		const uploadedSet = new Set(uploaded);
		for (const d of dropped) {
			const keySeed = this.#seed(d, 'key seed');
			// The rebuilt seed must give the keys d advertised: a bad share is caught here, not in the sum.
			if (!sameBytes(deriveKemKeys(keySeed).publicKey, this.#keys.get(d)!.maskPublicKey)) {
				throw new Error(`secure aggregation: the key seed rebuilt for ${this.#opts.roster[d]} does not match its advertised key`);
			}
			for (const s of this.#active.get(d) ?? []) {
				if (!uploadedSet.has(s)) continue;
				const transcript = { survivorPublicKey: this.#keys.get(s)!.maskPublicKey, ciphertext: this.#ciphertexts.get(edgeKey(d, s))! };
				droppedPairs.push({ dropped: d, survivor: s, seed: recoverPairSeed(keySeed, d, s, transcript, this.#context) });
			}
			await giveWay();
		}
		const steps = unmaskSteps(this.#sum, { selfSeeds, droppedPairs });
		let step = steps.next();
		while (!step.done) {
			await giveWay();
			step = steps.next();
		}
		const words = step.value;
		const { mean, totalSamples } = decodeSum(words, this.#params);
		return { mean, totalSamples, uploaded: uploaded.length, droppedBeforeUpload: dropped.length };
	}

	dispose(): void {
		this.#clearTimer();
		this.#unmaskDone?.();
	}

	#log(message: string): void {
		this.#opts.log?.(`secure round ${this.#opts.roundId}: ${message}`);
	}
}

/** Lets the event loop run (sockets, timers) between slices of a long computation. */
const giveWay = () => new Promise<void>((resolve) => setImmediate(resolve));

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
	return diff === 0;
}
