import { listParticipantData, splitExample, type ParticipantData } from '@qflare/datasets/examples';
import type { TaskSchema } from '@qflare/protocol';
import { defaultMinParticipants, type LocalDataOptions, type SimOptions } from './args';

/** Browsers used when a data folder fixes the number of participants and no counts were given. */
const DEFAULT_BROWSERS_WITH_DATA = 2;

export interface ResolvedParticipants {
	/** The options with the participant counts the data folder implies. */
	options: SimOptions;
	/** Participant i's data (browsers first, then Node participants); null for demo shards. */
	data: ParticipantData[] | null;
}

function fits(task: TaskSchema, entry: ParticipantData): boolean {
	return task.kind === 'image-classification' ? entry.kind === 'images' : entry.kind === 'csv';
}

/**
 * Local-data runs: splits the example (--example) into the data folder, then matches the
 * folder's entries (sorted by name) to the participants, browsers first. Without participant
 * counts the folder decides them: up to two browsers, the rest Node participants.
 */
export async function resolveParticipants(options: SimOptions, log: (line: string) => void): Promise<ResolvedParticipants> {
	const local: LocalDataOptions | null = options.local;
	if (!local) return { options, data: null };
	if (local.example) {
		const total = options.browsers + options.nodeParticipants;
		const manifest = await splitExample(local.example, total, options.partition, options.seed, local.dataDir);
		log(`${local.example} split into ${local.dataDir}: ${manifest.parts.map((p) => p.count).join(' / ')} (${manifest.method})`);
	}
	const data = await listParticipantData(local.dataDir);
	const wrong = data.find((entry) => !fits(local.task, entry));
	if (wrong) {
		const want = local.task.kind === 'image-classification' ? 'an image folder' : 'a CSV file';
		throw new Error(`${wrong.path}: a ${local.task.kind} task takes ${want} per participant`);
	}
	let { browsers, nodeParticipants } = options;
	if (local.countsFromData) {
		browsers = Math.min(DEFAULT_BROWSERS_WITH_DATA, data.length);
		nodeParticipants = data.length - browsers;
	} else if (browsers + nodeParticipants !== data.length) {
		throw new Error(
			`${local.dataDir} holds data for ${data.length} participants, but --browsers ${browsers} + --node-participants ${nodeParticipants} ` +
				`make ${browsers + nodeParticipants}; give counts that add up to ${data.length}, or neither`
		);
	}
	const minParticipants = local.countsFromData
		? (local.explicitMinParticipants ?? defaultMinParticipants(data.length, options.fraction, options.dropout))
		: options.minParticipants;
	if (minParticipants > data.length) throw new Error(`--min-participants ${minParticipants} exceeds the ${data.length} participants of ${local.dataDir}`);
	return { options: { ...options, browsers, nodeParticipants, minParticipants }, data };
}
