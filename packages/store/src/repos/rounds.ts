import type { Round, RoundMetrics, RoundStatus } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { RoundDoc } from '../collections';
import { definedOnly, toStored, type Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

export type NewRound = Pick<Round, 'projectId' | 'number' | 'baseModelVersion' | 'deadline'> &
	Partial<Pick<Round, 'id' | 'status' | 'selected'>> & {
		/** The creating leader's fencing token (see RoundRepository.transition). */
		fence?: number;
	};

export type RoundPatch = Partial<
	Pick<
		Round,
		| 'selected'
		| 'accepted'
		| 'deadline'
		| 'metrics'
		| 'privacy'
		| 'failureReason'
		| 'resultModelVersion'
		| 'totalSamples'
		| 'federatedEvaluation'
		| 'secure'
	>
>;

/** Statuses in which a round still takes updates. */
export const ROUND_ACCEPTING: readonly RoundStatus[] = ['open', 'training'];
const TERMINAL: readonly RoundStatus[] = ['committed', 'failed'];

const NO_METRICS: RoundMetrics = { testAccuracy: null, testLoss: null, trainLoss: null, trainAccuracy: null };

export interface RoundRepository {
	/** Rejects with DuplicateKeyError when the project already has a round with that number. */
	create(input: NewRound): Promise<Round>;
	get(id: string): Promise<Round | null>;
	getByNumber(projectId: string, number: number): Promise<Round | null>;
	/** The round with the highest number, whatever its status. */
	current(projectId: string): Promise<Round | null>;
	/**
	 * Moves the round to `to` only if its status is (one of) `from`, atomically; null when it
	 * was not, so of two racing writers exactly one wins. Terminal statuses stamp endedAt.
	 * With `fence` (a leader lease's fencing token) it also needs the round's stored token to be
	 * no higher, and stores this one: a leader whose lease another instance has since taken
	 * (with a higher token) can no longer move the round, however late its write arrives.
	 */
	transition(
		id: string,
		from: RoundStatus | readonly RoundStatus[],
		to: RoundStatus,
		patch?: RoundPatch,
		fence?: number
	): Promise<Round | null>;
	update(id: string, patch: RoundPatch): Promise<Round | null>;
	/**
	 * Records an accepted update and adds its samples, once per device, and only while the
	 * round accepts updates; null otherwise.
	 */
	addAccepted(id: string, deviceId: string, samples: number): Promise<Round | null>;
	/** Adds a participant once (a set); null when the round no longer accepts updates. */
	addSelected(id: string, deviceId: string): Promise<Round | null>;
	/** By round number, ascending unless `order: 'desc'`. */
	listByProject(projectId: string, options?: { limit?: number; skip?: number; order?: 'asc' | 'desc' }): Promise<Round[]>;
}

/** Rounds run before federated evaluation existed have none. */
function toRound(doc: RoundDoc): Round {
	const { _id, federatedEvaluation, fence: _fence, ...rest } = doc;
	return { ...rest, id: _id, federatedEvaluation: federatedEvaluation ?? null };
}

export function roundRepository(col: CollectionPort<RoundDoc>, clock: Clock): RoundRepository {
	const out = (doc: RoundDoc | null) => (doc ? toRound(doc) : null);
	const statusIn = (s: RoundStatus | readonly RoundStatus[]) => (typeof s === 'string' ? s : { $in: s });

	return {
		async create(input) {
			const now = clock().toISOString();
			const round: Round = {
				id: input.id ?? randomUUID(),
				projectId: input.projectId,
				number: input.number,
				status: input.status ?? 'open',
				baseModelVersion: input.baseModelVersion,
				resultModelVersion: null,
				selected: input.selected ?? [],
				accepted: [],
				totalSamples: 0,
				deadline: input.deadline,
				metrics: { ...NO_METRICS },
				privacy: null,
				federatedEvaluation: null,
				failureReason: null,
				startedAt: now,
				updatedAt: now,
				endedAt: null
			};
			await col.insertOne({ ...toStored(round), fence: input.fence ?? 0 });
			return round;
		},
		async get(id) {
			return out(await col.findOne({ _id: id }));
		},
		async getByNumber(projectId, number) {
			return out(await col.findOne({ projectId, number }));
		},
		async current(projectId) {
			const [doc] = await col.find({ projectId }, { sort: { number: -1 }, limit: 1 });
			return out(doc ?? null);
		},
		async transition(id, from, to, patch = {}, fence) {
			const now = clock().toISOString();
			const $set: Partial<Omit<RoundDoc, '_id'>> = { ...definedOnly(patch), status: to, updatedAt: now };
			if (TERMINAL.includes(to)) $set.endedAt = now;
			const filter: Filter<RoundDoc> = { _id: id, status: statusIn(from) };
			if (fence !== undefined) {
				filter.fence = { $lte: fence };
				$set.fence = fence;
			}
			return out(await col.findOneAndUpdate(filter, { $set }));
		},
		async update(id, patch) {
			return out(await col.findOneAndUpdate({ _id: id }, { $set: { ...definedOnly(patch), updatedAt: clock().toISOString() } }));
		},
		async addAccepted(id, deviceId, samples) {
			const filter: Filter<RoundDoc> = { _id: id, status: { $in: ROUND_ACCEPTING }, accepted: { $ne: deviceId } };
			return out(
				await col.findOneAndUpdate(filter, {
					$push: { accepted: deviceId },
					$inc: { totalSamples: samples },
					$set: { updatedAt: clock().toISOString() }
				})
			);
		},
		async addSelected(id, deviceId) {
			return out(
				await col.findOneAndUpdate(
					{ _id: id, status: { $in: ROUND_ACCEPTING } },
					{ $addToSet: { selected: deviceId }, $set: { updatedAt: clock().toISOString() } }
				)
			);
		},
		async listByProject(projectId, options = {}) {
			const docs = await col.find(
				{ projectId },
				{ sort: { number: options.order === 'desc' ? -1 : 1 }, limit: options.limit, skip: options.skip }
			);
			return docs.map(toRound);
		}
	};
}
