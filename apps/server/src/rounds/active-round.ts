import type { AggregationStrategy, ClientUpdate } from '@qflare/fl';
import type { PeerTrainSums, Round } from '@qflare/protocol';
import type { SecureAggregationRound } from './secure-round';

/**
 * In-memory state of the one round a project is training. Only accepted updates reach the
 * strategy; a rejected device is remembered so the round need not wait for it, and nothing of
 * its update is kept.
 *
 * The project's leader instance holds a 'leader' round: it selects, waits, closes and commits.
 * Every other instance that receives updates for the round holds a 'follower' round that only
 * folds its own devices' updates, and hands its running sums to the leader at the close.
 */
export class ActiveRound {
	/** deviceId -> payload hash of an update folded into this instance's strategy */
	readonly accepted = new Map<string, string>();
	/** Leader only: deviceId -> payload hash of an update another instance made durable (not folded here). */
	readonly remote = new Map<string, string>();
	/**
	 * An update was folded but its write to the store failed: the strategy holds an update the
	 * round does not, so the sums are not handed on and the leader folds from the store instead.
	 */
	tainted = false;
	/**
	 * Leader only: this instance lost the project's lease while the round ran. It is out of use;
	 * updates already being checked for it are stored and handed on as a follower's would be.
	 */
	abandoned = false;
	/** When the leader last logged the devices the round waits for (cluster). */
	waitingLoggedAt = Date.now();
	readonly acceptedHashes = new Set<string>();
	readonly rejected = new Set<string>();
	/** Selected devices that went offline and did not come back within the grace period. */
	readonly dropped = new Set<string>();
	/** Grace timers of selected devices that are offline right now. */
	readonly leaving = new Map<string, NodeJS.Timeout>();
	/** Devices whose update is being verified or persisted right now. */
	readonly pending = new Set<string>();
	/** Writes of accepted updates to the store that have not finished yet. */
	readonly persisting = new Set<Promise<void>>();
	readonly selected: Set<string>;
	finishing = false;
	timer: NodeJS.Timeout | null = null;
	/**
	 * Secure projects: the round's SecAgg+ protocol. Masked updates are summed there, not folded
	 * into the strategy, which gets the unmasked sum at the close.
	 */
	secure: SecureAggregationRound | null = null;
	/** Fold position of the next update; stored with each payload so a rebuilt round adds in the same order. */
	#nextFold = 0;
	#weight = 0;
	#lossSum = 0;
	/** Accuracy is null for regression, so it has its own weight. */
	#accuracyWeight = 0;
	#accuracySum = 0;

	constructor(
		public round: Round,
		readonly globalWeights: Float32Array,
		readonly encodedGlobal: Uint8Array,
		readonly strategy: AggregationStrategy,
		readonly role: 'leader' | 'follower' = 'leader'
	) {
		this.selected = new Set(round.selected);
	}

	/**
	 * Throws when the strategy cannot use the update (e.g. PerfFedAvg without a validation
	 * accuracy). Returns the update's fold position; `foldIndex` restores a stored one.
	 * `shared`: update.delta is a view over a payload's bytes (screenPayload without a copy);
	 * a strategy that keeps its updates until finish gets a copy of it instead.
	 */
	fold(
		deviceId: string,
		payloadSha256: string,
		update: ClientUpdate,
		loss: number,
		accuracy: number | null,
		options: { foldIndex?: number; shared?: boolean } = {}
	): number {
		const { foldIndex, shared = false } = options;
		this.strategy.add(shared && this.strategy.keepsUpdates ? { ...update, delta: update.delta.slice() } : update);
		return this.count(deviceId, payloadSha256, update.numSamples, loss, accuracy, foldIndex);
	}

	/**
	 * Records an accepted update without folding it: what fold() does besides the strategy, and all
	 * a secure round's masked update gets here (its words go to `secure`).
	 */
	count(deviceId: string, payloadSha256: string, numSamples: number, loss: number, accuracy: number | null, foldIndex?: number): number {
		const index = foldIndex ?? this.#nextFold;
		this.#nextFold = Math.max(this.#nextFold, index + 1);
		this.accepted.set(deviceId, payloadSha256);
		this.acceptedHashes.add(payloadSha256);
		this.#weight += numSamples;
		this.#lossSum += loss * numSamples;
		if (accuracy !== null) {
			this.#accuracyWeight += numSamples;
			this.#accuracySum += accuracy * numSamples;
		}
		return index;
	}

	/** The device is done for the round without an update in it (it left, or was revoked). */
	drop(deviceId: string): void {
		this.dropped.add(deviceId);
		this.secure?.markGone(deviceId);
	}

	/** The device's update was refused: nothing of it stays, and the round stops waiting for it. */
	reject(deviceId: string): void {
		this.rejected.add(deviceId);
		this.secure?.markGone(deviceId);
	}

	/** Adds another instance's training-metric sums for the updates its partial aggregate holds. */
	mergeTrain(sums: PeerTrainSums): void {
		this.#weight += sums.weight;
		this.#lossSum += sums.lossSum;
		this.#accuracyWeight += sums.accuracyWeight;
		this.#accuracySum += sums.accuracySum;
	}

	trainSums(): PeerTrainSums {
		return { weight: this.#weight, lossSum: this.#lossSum, accuracyWeight: this.#accuracyWeight, accuracySum: this.#accuracySum };
	}

	/** The payload hash of a device's accepted update, folded here or made durable by another instance. */
	acceptedHash(deviceId: string): string | undefined {
		return this.accepted.get(deviceId) ?? this.remote.get(deviceId);
	}

	/** Samples of the accepted updates. */
	get totalSamples(): number {
		return this.#weight;
	}

	get responded(): number {
		return this.accepted.size + this.remote.size + this.rejected.size + this.dropped.size;
	}

	/** Selected and neither answered nor dropped yet. */
	isWaitingFor(deviceId: string): boolean {
		return (
			this.selected.has(deviceId) &&
			!this.accepted.has(deviceId) &&
			!this.remote.has(deviceId) &&
			!this.rejected.has(deviceId) &&
			!this.dropped.has(deviceId)
		);
	}

	clearTimers(): void {
		if (this.timer) clearTimeout(this.timer);
		this.secure?.dispose();
		for (const t of this.leaving.values()) clearTimeout(t);
		this.leaving.clear();
	}

	get allResponded(): boolean {
		return this.pending.size === 0 && this.responded >= this.selected.size;
	}

	/** Sample-weighted mean of the participants' reported training loss and accuracy (null when none reported one). */
	trainMetrics(): { trainLoss: number | null; trainAccuracy: number | null } {
		return {
			trainLoss: this.#weight > 0 ? this.#lossSum / this.#weight : null,
			trainAccuracy: this.#accuracyWeight > 0 ? this.#accuracySum / this.#accuracyWeight : null
		};
	}
}
