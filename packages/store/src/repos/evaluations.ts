import type { EvaluationReport } from '@qflare/protocol';
import type { EvaluationDoc } from '../collections';
import type { Clock } from '../docs';
import { DuplicateKeyError } from '../errors';
import type { CollectionPort, Filter } from '../port';

/** One device's federated evaluation of the model a round committed, as stored. */
export interface EvaluationRecord extends EvaluationReport {
	id: string;
	projectId: string;
	roundId: string;
	roundNumber: number;
	deviceId: string;
	receivedAt: string;
}

export type NewEvaluation = Omit<EvaluationRecord, 'id' | 'receivedAt'> & { receivedAt?: string };

export interface EvaluationRepository {
	/**
	 * Stores the device's report for the round, replacing an earlier one (a re-send after a
	 * lost ack, or a re-evaluation), so one device counts once per round. `replaced` is true
	 * when a report was already there.
	 */
	put(report: NewEvaluation): Promise<{ record: EvaluationRecord; replaced: boolean }>;
	get(roundId: string, deviceId: string): Promise<EvaluationRecord | null>;
	/** By device id. */
	listByRound(roundId: string): Promise<EvaluationRecord[]>;
	/** By round number, then device id; `roundNumber` narrows to one round. */
	listByProject(projectId: string, options?: { roundNumber?: number }): Promise<EvaluationRecord[]>;
}

const key = (roundId: string, deviceId: string) => `${roundId}:${deviceId}`;

function toRecord(doc: EvaluationDoc): EvaluationRecord {
	const { _id, classification, regression, ...rest } = doc;
	return {
		...rest,
		id: _id,
		...(classification ? { classification } : {}),
		...(regression ? { regression } : {})
	};
}

export function evaluationRepository(col: CollectionPort<EvaluationDoc>, clock: Clock): EvaluationRepository {
	const get = async (roundId: string, deviceId: string) => {
		const doc = await col.findOne({ _id: key(roundId, deviceId) });
		return doc ? toRecord(doc) : null;
	};
	return {
		get,
		async put(report) {
			const { _id, ...fields }: EvaluationDoc = {
				_id: key(report.roundId, report.deviceId),
				projectId: report.projectId,
				roundId: report.roundId,
				roundNumber: report.roundNumber,
				deviceId: report.deviceId,
				modelVersion: report.modelVersion,
				n: report.n,
				loss: report.loss,
				classification: report.classification ?? null,
				regression: report.regression ?? null,
				receivedAt: report.receivedAt ?? clock().toISOString()
			};
			// Every field is $set, so a replacement leaves nothing of the earlier report behind.
			const upsert = () => col.updateOne({ _id }, { $set: fields }, { upsert: true });
			let result;
			try {
				result = await upsert();
			} catch (err) {
				// Two concurrent upserts of one _id: MongoDB lets one insert and fails the other with E11000; the retry updates.
				if (!(err instanceof DuplicateKeyError)) throw err;
				result = await upsert();
			}
			return { record: toRecord({ _id, ...fields }), replaced: result.upsertedId === null };
		},
		async listByRound(roundId) {
			return (await col.find({ roundId }, { sort: { deviceId: 1 } })).map(toRecord);
		},
		async listByProject(projectId, options = {}) {
			const filter: Filter<EvaluationDoc> = options.roundNumber === undefined ? { projectId } : { projectId, roundNumber: options.roundNumber };
			return (await col.find(filter, { sort: { roundNumber: 1, deviceId: 1 } })).map(toRecord);
		}
	};
}
