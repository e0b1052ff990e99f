// A per-device reputation the coordinator can use to prefer reliable participants. It only
// summarises history: what counts as accepted, and the distance, come from the round.

export interface TrustRecord {
	accepted: number;
	rejected: number;
	/** Mean, over accepted updates, of the relative distance to the round's aggregate. */
	meanDistance: number;
}

export type TrustOutcome = { accepted: true; distance: number } | { accepted: false };

export const INITIAL_TRUST: TrustRecord = { accepted: 0, rejected: 0, meanDistance: 0 };

/** ||delta - aggregate|| / ||aggregate||: scale-free, so one threshold fits every model. */
export function relativeDistance(delta: Float32Array, aggregate: Float32Array): number {
	if (delta.length !== aggregate.length) throw new Error('relativeDistance: length mismatch');
	let sum = 0;
	let scale = 0;
	for (let i = 0; i < delta.length; i++) {
		const d = delta[i] - aggregate[i];
		sum += d * d;
		scale += aggregate[i] * aggregate[i];
	}
	// scale is l2Norm(aggregate)'s sum: same order, same float64 arithmetic.
	return relativeDistanceFromTerms(sum, scale);
}

/**
 * relativeDistance from its sums: sum (delta - aggregate)^2 and sum aggregate^2 (scanUpdate
 * gathers both in the pass that screens an update).
 */
export function relativeDistanceFromTerms(distanceSquares: number, aggregateSquares: number): number {
	const scale = Math.sqrt(aggregateSquares);
	const distance = Math.sqrt(distanceSquares);
	if (scale === 0) return distance === 0 ? 0 : Infinity;
	return distance / scale;
}

export function updateTrust(prev: TrustRecord, outcome: TrustOutcome): TrustRecord {
	if (!outcome.accepted) return { ...prev, rejected: prev.rejected + 1 };
	if (!(outcome.distance >= 0)) throw new Error(`distance must be >= 0, got ${outcome.distance}`);
	const accepted = prev.accepted + 1;
	// Running mean; an infinite distance (zero aggregate) counts as maximally far.
	const distance = Number.isFinite(outcome.distance) ? outcome.distance : Number.MAX_VALUE;
	return {
		accepted,
		rejected: prev.rejected,
		meanDistance: prev.meanDistance + (distance - prev.meanDistance) / accepted
	};
}

/**
 * In [0, 1]: the acceptance share with one pseudo-accept and one pseudo-reject (so a new
 * device starts at 0.5 and one event does not decide), times 1 / (1 + meanDistance).
 */
export function trustScore(record: TrustRecord): number {
	const acceptShare = (record.accepted + 1) / (record.accepted + record.rejected + 2);
	return acceptShare / (1 + record.meanDistance);
}
