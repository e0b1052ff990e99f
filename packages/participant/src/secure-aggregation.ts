import {
	encodeMaskedWords,
	secureRoundContext,
	shareEnvelopeAad,
	type SecureKeysMessage,
	type SecureNeighbourKeys,
	type SecureNeighbours,
	type SecureRelay,
	type SecureRevealMessage,
	type SecureRoundSetup,
	type SecureShareKind,
	type SecureSharesMessage,
	type SecureUnmaskRequest
} from '@qflare/protocol';
import {
	clipUpdateForDp,
	createNeighbourGraph,
	createSecureGaussian,
	decapsulateFrom,
	decodeShare,
	deriveKemKeys,
	encapsulateFor,
	encodeShare,
	encodeWeighted,
	maskSteps,
	splitSecret,
	KEM_CIPHERTEXT_BYTES,
	KEM_KEY_SEED_BYTES,
	KEM_PUBLIC_KEY_BYTES,
	SHAMIR_SHARE_BYTES,
	type GaussianSource,
	type KemKeys,
	type NeighbourGraph,
	type RandomBytes
} from '@qflare/fl';
import { fromBase64, openSealed, sealToPublicKey, secaggKeysMessage, signMessage, toBase64, verifySignature } from '@qflare/pq';

// One device's side of a secure (SecAgg+) round, as laid out in @qflare/protocol's
// secure-aggregation.ts: fresh seeds and signed keys, Shamir shares sealed to the neighbours,
// pair seeds from the relay, the masked upload, and the answer to the unmasking request. It
// trusts the server with nothing it could use to see this device's update: every relayed key is
// checked against its owner's signature, and the unmasking request is refused whenever answering
// could hand out both seeds of one participant.

/**
 * Where the round's protocol stands on this device: keys sent, shares sent, pair seeds known
 * (waiting for training), masked update made, shares revealed, or given up for this round.
 */
export type SecurePhase = 'keys' | 'shares' | 'ready' | 'masked' | 'revealed' | 'aborted';

export interface SecureRoundStatus {
	roundId: string;
	phase: SecurePhase;
	/** Neighbours whose signed keys were accepted, then those the relay named active. */
	neighbours: number;
}

export interface SecureRoundClientOptions {
	roundId: string;
	setup: SecureRoundSetup;
	deviceId: string;
	/** ML-DSA-65 secret key of the device: signs the advertised keys. */
	deviceSecretKey: Uint8Array;
	/** CSPRNG for the seeds and the Shamir coefficients; injected so tests are exact. */
	randomBytes?: RandomBytes;
	/** Distributed DP noise source. */
	gaussian?: GaussianSource;
	note?: (message: string) => void;
}

interface NeighbourKeys {
	mask: Uint8Array;
	channel: Uint8Array;
}

interface HeldShares {
	self: Uint8Array;
	key: Uint8Array;
}

const SEALED_SHARES_BYTES = 2 * SHAMIR_SHARE_BYTES;

function cryptoRandomBytes(length: number): Uint8Array {
	return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
	const out = new Uint8Array(a.length + b.length);
	out.set(a, 0);
	out.set(b, a.length);
	return out;
}

export class SecureRoundClient {
	readonly roundId: string;
	readonly myIndex: number;
	private readonly setup: SecureRoundSetup;
	private readonly graph: NeighbourGraph;
	private readonly context: Uint8Array;
	private readonly randomBytes: RandomBytes;
	private readonly gaussian: GaussianSource;
	private readonly note: (message: string) => void;
	private readonly keySeed: Uint8Array;
	private readonly selfSeed: Uint8Array;
	private readonly maskKeys: KemKeys;
	private readonly channelKeys: KemKeys;
	private readonly keys: SecureKeysMessage;
	private _phase: SecurePhase = 'keys';
	private _neighbours = 0;
	/** Neighbours whose keys verified, and so received shares from this device. */
	private readonly accepted = new Map<number, NeighbourKeys>();
	/** Pair seeds of the pairs this device encapsulated (it has the lower index). */
	private readonly encapsulated = new Map<number, Uint8Array>();
	/** Pair seeds the upload is masked with: exactly the relay's active neighbours. */
	private readonly pairSeeds = new Map<number, Uint8Array>();
	/** Shares this device holds of its active neighbours' seeds. */
	private readonly held = new Map<number, HeldShares>();
	/** How earlier unmasking requests named each participant. */
	private readonly named = new Map<number, SecureShareKind>();
	private shares: Promise<SecureSharesMessage> | null = null;
	private relay: Promise<boolean> | null = null;
	private masking = false;

	/** Throws when the setup is unusable or does not list this device. */
	constructor(options: SecureRoundClientOptions) {
		const { roundId, setup, deviceId } = options;
		this.roundId = roundId;
		this.setup = setup;
		this.randomBytes = options.randomBytes ?? cryptoRandomBytes;
		this.gaussian = options.gaussian ?? createSecureGaussian();
		this.note = options.note ?? (() => {});
		const n = setup.roster.length;
		this.myIndex = setup.roster.indexOf(deviceId);
		if (this.myIndex < 0) throw new Error('this device is not in the round\'s roster');
		if (new Set(setup.roster).size !== n) throw new Error('the roster lists a device twice');
		// A strict majority: two disjoint groups of answering neighbours can then never both reach
		// the threshold, which is what keeps one participant's two seeds from both being rebuilt.
		if (setup.threshold <= setup.degree / 2 || setup.threshold > setup.degree) {
			throw new Error(`threshold ${setup.threshold} is not a strict majority of degree ${setup.degree}`);
		}
		this.graph = createNeighbourGraph(n, setup.degree, fromBase64(setup.graphSeed));
		this.context = secureRoundContext(roundId);
		this.keySeed = this.seed();
		this.selfSeed = this.seed();
		const channelSeed = this.seed();
		this.maskKeys = deriveKemKeys(this.keySeed, 'mask');
		this.channelKeys = deriveKemKeys(channelSeed, 'channel');
		channelSeed.fill(0);
		const maskPublicKey = toBase64(this.maskKeys.publicKey);
		const channelPublicKey = toBase64(this.channelKeys.publicKey);
		const signed = secaggKeysMessage({ roundId, deviceId, maskPublicKey, channelPublicKey });
		this.keys = { roundId, maskPublicKey, channelPublicKey, signature: toBase64(signMessage(options.deviceSecretKey, signed)) };
	}

	get phase(): SecurePhase {
		return this._phase;
	}

	get status(): SecureRoundStatus {
		return { roundId: this.roundId, phase: this._phase, neighbours: this._neighbours };
	}

	/** `secagg:keys`: the same message every time it is asked for. */
	keysMessage(): SecureKeysMessage {
		return this.keys;
	}

	/**
	 * `secagg:neighbours` -> `secagg:shares`. Entries that fail a check are dropped (and noted):
	 * no shares go to them. A repeat of the message gets the first answer again, whatever it
	 * says: fresh shares of the same seeds would give each holder two points of two polynomials.
	 */
	onNeighbours(message: SecureNeighbours): Promise<SecureSharesMessage> | null {
		if (message.roundId !== this.roundId) return null;
		this.shares ??= this.makeShares(message.neighbours);
		return this.shares;
	}

	/**
	 * `secagg:relay`: the pair seeds of the active neighbours and the shares they sent. False
	 * (and the round given up) when the relay cannot be right: this device must not upload then.
	 */
	onRelay(message: SecureRelay): Promise<boolean> | null {
		if (message.roundId !== this.roundId) return null;
		if (!this.shares) {
			this.note('secure round: relay before this device sent its shares; ignored');
			return null;
		}
		this.relay ??= this.useRelay(this.shares, message);
		return this.relay;
	}

	/** True once the relay was taken and the update can be masked (and is not being masked now). */
	get readyToMask(): boolean {
		return this._phase === 'ready' && !this.masking;
	}

	/**
	 * The masked update as a 'u32' weight payload: clipped to clipNorm (DP), noised, weighted,
	 * encoded in fixed point and masked with the self mask and the active pairs' masks. Once per
	 * round: two different masked updates under the same masks would give away their difference.
	 * `pause` is awaited between mask expansions, so a page stays responsive while a large model
	 * is masked.
	 */
	async maskedPayload(delta: Float32Array, numSamples: number, clipNorm: number | null, pause: () => Promise<void> = async () => {}): Promise<Uint8Array> {
		if (!this.readyToMask) throw new Error(`cannot mask an update in phase ${this._phase}${this.masking ? ' (masking already)' : ''}`);
		this.masking = true;
		try {
			let values = clipNorm ? clipUpdateForDp(delta, clipNorm) : delta;
			const { noiseStd, weighting, fixedPoint } = this.setup;
			if (noiseStd !== null && noiseStd > 0) {
				// Each device's share of the sum's N(0, (zC)²): the server never sees a noiseless update.
				const noisy = new Float32Array(values.length);
				for (let i = 0; i < noisy.length; i++) noisy[i] = values[i] + noiseStd * this.gaussian();
				values = noisy;
			}
			const weight = weighting === 'equal' ? 1 : Math.min(Math.max(0, Math.floor(numSamples)), fixedPoint.maxSamplesPerClient);
			const words = encodeWeighted(values, weight, fixedPoint);
			const steps = maskSteps(words, { myIndex: this.myIndex, selfSeed: this.selfSeed, pairSeeds: this.pairSeeds });
			let step = steps.next();
			while (!step.done) {
				await pause();
				step = steps.next();
			}
			// dispose() while masking zeroes the seeds: what came out must not be sent.
			if (this._phase !== 'ready') throw new Error(`the round ended while masking (phase ${this._phase})`);
			this._phase = 'masked';
			return encodeMaskedWords(step.value);
		} finally {
			this.masking = false;
		}
	}

	/**
	 * `secagg:unmask` -> `secagg:reveal`, or null (noted) when answering could help unmask one
	 * participant's own update. Identical repeats are answered the same way.
	 */
	reveal(request: SecureUnmaskRequest): SecureRevealMessage | null {
		if (request.roundId !== this.roundId) return null;
		const problem = this.unmaskProblem(request);
		if (problem) {
			this.note(`secure round: unmasking request refused: ${problem}`);
			return null;
		}
		const uploaded = new Set(request.uploaded);
		const dropped = new Set(request.dropped);
		for (const u of uploaded) this.named.set(u, 'self');
		for (const d of dropped) this.named.set(d, 'key');
		const shares: SecureRevealMessage['shares'] = [];
		for (const [of, held] of [...this.held].sort((a, b) => a[0] - b[0])) {
			if (uploaded.has(of)) shares.push({ of, kind: 'self', share: toBase64(held.self) });
			else if (dropped.has(of)) shares.push({ of, kind: 'key', share: toBase64(held.key) });
		}
		this._phase = 'revealed';
		return { roundId: this.roundId, shares };
	}

	/** Forgets the round's secrets (round closed, or a newer task). */
	dispose(): void {
		this.keySeed.fill(0);
		this.selfSeed.fill(0);
		this.maskKeys.secretKey.fill(0);
		this.channelKeys.secretKey.fill(0);
		for (const seed of [...this.encapsulated.values(), ...this.pairSeeds.values()]) seed.fill(0);
		this.encapsulated.clear();
		this.pairSeeds.clear();
		this.held.clear();
		if (this._phase !== 'revealed') this._phase = 'aborted';
	}

	private seed(): Uint8Array {
		const bytes = this.randomBytes(KEM_KEY_SEED_BYTES);
		if (!(bytes instanceof Uint8Array) || bytes.length !== KEM_KEY_SEED_BYTES) throw new Error('randomBytes returned the wrong length');
		return bytes.slice();
	}

	private neighbourProblem(entry: SecureNeighbourKeys): string | null {
		const { index, deviceId } = entry;
		if (!this.graph.areNeighbours(this.myIndex, index)) return 'not a neighbour on the round\'s graph';
		if (this.accepted.has(index)) return 'listed twice';
		if (this.setup.roster[index] !== deviceId) return `device id ${deviceId} is not roster entry ${index}`;
		let mask: Uint8Array;
		let channel: Uint8Array;
		let devicePublicKey: Uint8Array;
		let signature: Uint8Array;
		try {
			mask = fromBase64(entry.maskPublicKey);
			channel = fromBase64(entry.channelPublicKey);
			devicePublicKey = fromBase64(entry.devicePublicKey);
			signature = fromBase64(entry.signature);
		} catch (error) {
			return describe(error);
		}
		if (mask.length !== KEM_PUBLIC_KEY_BYTES || channel.length !== KEM_PUBLIC_KEY_BYTES) {
			return `public keys must be ${KEM_PUBLIC_KEY_BYTES} bytes`;
		}
		const signed = secaggKeysMessage({
			roundId: this.roundId,
			deviceId,
			maskPublicKey: entry.maskPublicKey,
			channelPublicKey: entry.channelPublicKey
		});
		if (!verifySignature(devicePublicKey, signed, signature)) return 'the signature over its keys does not verify';
		this.accepted.set(index, { mask, channel });
		return null;
	}

	private async makeShares(entries: readonly SecureNeighbourKeys[]): Promise<SecureSharesMessage> {
		for (const entry of entries) {
			const problem = this.neighbourProblem(entry);
			if (problem) this.note(`secure round: keys of neighbour ${entry.index} dropped: ${problem}`);
		}
		const holders = this.graph.neighbours(this.myIndex);
		const { threshold } = this.setup;
		const selfShares = splitSecret(this.selfSeed, threshold, holders.length, this.randomBytes);
		const keyShares = splitSecret(this.keySeed, threshold, holders.length, this.randomBytes);
		const ciphertexts: SecureSharesMessage['ciphertexts'] = [];
		const envelopes: SecureSharesMessage['envelopes'] = [];
		for (let p = 0; p < holders.length; p++) {
			const to = holders[p];
			const keys = this.accepted.get(to);
			if (!keys) continue;
			// Holder holders[p] gets the shares at x = p + 1.
			const plaintext = concat(encodeShare(selfShares[p]), encodeShare(keyShares[p]));
			const envelope = await sealToPublicKey(keys.channel, plaintext, shareEnvelopeAad(this.roundId, this.myIndex, to));
			plaintext.fill(0);
			envelopes.push({ to, envelope: toBase64(envelope) });
			if (to > this.myIndex) {
				const { ciphertext, seed } = encapsulateFor(this.keySeed, this.myIndex, to, keys.mask, { context: this.context });
				this.encapsulated.set(to, seed);
				ciphertexts.push({ to, ciphertext: toBase64(ciphertext) });
			}
		}
		this._phase = 'shares';
		this._neighbours = this.accepted.size;
		return { roundId: this.roundId, ciphertexts, envelopes };
	}

	private async useRelay(shares: Promise<SecureSharesMessage>, relay: SecureRelay): Promise<boolean> {
		await shares;
		let active: number[];
		try {
			active = this.takePairSeeds(relay);
		} catch (error) {
			this._phase = 'aborted';
			this.note(`secure round: relay refused, no update will be sent: ${describe(error)}`);
			return false;
		}
		await this.openEnvelopes(active, relay.envelopes);
		this._phase = 'ready';
		this._neighbours = this.pairSeeds.size;
		return true;
	}

	/** The active neighbours, with their pair seeds kept; throws (keeping none) when the relay cannot be right. */
	private takePairSeeds(relay: SecureRelay): number[] {
		const active = [...new Set(relay.active)].sort((a, b) => a - b);
		for (const v of active) {
			// Every active pair needs a seed, and only neighbours with verified keys have one.
			if (!this.accepted.has(v)) throw new Error(`participant ${v} is listed active but its keys were not accepted`);
		}
		// Fewer active neighbours than the threshold: this device's self seed could never be rebuilt.
		if (active.length < this.setup.threshold) {
			throw new Error(`${active.length} active neighbours, fewer than the threshold ${this.setup.threshold}`);
		}
		const ciphertexts = new Map<number, string>();
		for (const { from, ciphertext } of relay.ciphertexts) {
			if (ciphertexts.has(from)) throw new Error(`two ciphertexts from ${from}`);
			ciphertexts.set(from, ciphertext);
		}
		const seeds = new Map<number, Uint8Array>();
		for (const v of active) {
			if (v > this.myIndex) {
				seeds.set(v, this.encapsulated.get(v)!);
				continue;
			}
			const text = ciphertexts.get(v);
			if (text === undefined) throw new Error(`no mask ciphertext from active neighbour ${v}`);
			const ciphertext = fromBase64(text);
			if (ciphertext.length !== KEM_CIPHERTEXT_BYTES) throw new Error(`the ciphertext from ${v} is not ${KEM_CIPHERTEXT_BYTES} bytes`);
			seeds.set(v, decapsulateFrom(this.keySeed, this.myIndex, v, ciphertext, { context: this.context }));
		}
		for (const [v, seed] of seeds) this.pairSeeds.set(v, seed);
		return active;
	}

	/**
	 * Keeps the shares each active neighbour sealed to this device. One that is missing or does
	 * not open is only noted: the neighbour's other holders can still answer for it.
	 */
	private async openEnvelopes(active: readonly number[], envelopes: SecureRelay['envelopes']): Promise<void> {
		const from = new Map<number, string>();
		for (const entry of envelopes) if (!from.has(entry.from)) from.set(entry.from, entry.envelope);
		for (const v of active) {
			const text = from.get(v);
			if (text === undefined) {
				this.note(`secure round: no share envelope from neighbour ${v}`);
				continue;
			}
			try {
				const plaintext = await openSealed(this.channelKeys.secretKey, fromBase64(text), shareEnvelopeAad(this.roundId, v, this.myIndex));
				if (plaintext.length !== SEALED_SHARES_BYTES) throw new Error(`expected ${SEALED_SHARES_BYTES} bytes`);
				const self = plaintext.slice(0, SHAMIR_SHARE_BYTES);
				const key = plaintext.slice(SHAMIR_SHARE_BYTES);
				// v gave its p-th neighbour the shares at x = p + 1.
				const x = this.graph.neighbours(v).indexOf(this.myIndex) + 1;
				if (decodeShare(self).x !== x || decodeShare(key).x !== x) throw new Error(`its shares are not at x = ${x}`);
				this.held.set(v, { self, key });
			} catch (error) {
				this.note(`secure round: the share envelope from neighbour ${v} was dropped: ${describe(error)}`);
			}
		}
	}

	private unmaskProblem(request: SecureUnmaskRequest): string | null {
		if (this._phase !== 'masked' && this._phase !== 'revealed') return `this device made no masked update (phase ${this._phase})`;
		const n = this.setup.roster.length;
		const all = [...request.uploaded, ...request.dropped];
		const outside = all.find((i) => i >= n);
		if (outside !== undefined) return `participant ${outside} is outside the roster of ${n}`;
		const uploaded = new Set(request.uploaded);
		const both = request.dropped.find((d) => uploaded.has(d));
		if (both !== undefined) return `participant ${both} is listed as uploaded and as dropped`;
		if (!uploaded.has(this.myIndex)) return 'this device is not listed as uploaded';
		if (uploaded.size < this.setup.threshold) return `${uploaded.size} uploads, fewer than the threshold ${this.setup.threshold}`;
		for (const u of uploaded) if (this.named.get(u) === 'key') return `participant ${u} was named dropped before`;
		for (const d of request.dropped) if (this.named.get(d) === 'self') return `participant ${d} was named uploaded before`;
		return null;
	}
}
