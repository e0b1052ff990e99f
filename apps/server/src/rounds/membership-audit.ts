import { splitIndices } from '@qflare/data-import';
import { loadDataset, parsePartitionSpec, partitionIndices } from '@qflare/datasets';
import { createRng, lossThresholdAttack } from '@qflare/fl';
import type { MembershipAudit, ModelRecord, Project } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { DashboardFeed, ModelService } from './ports';
import type { LogFields } from './round-coordinator';

/** Members and non-members drawn per audit: ~2,000 forward passes of the model, cheap next to a round. */
export const AUDIT_SAMPLE_SIZE = 1_000;

/** Train-split indices of the rows a demo shard's device trains on (its hold-out share left out, as the device does). */
export function shardTrainRows(shard: ArrayLike<number>, project: Pick<Project, 'holdOutFraction' | 'seed'>): number[] {
	const { train } = splitIndices(shard.length, { holdOutFraction: project.holdOutFraction, seed: project.seed });
	return Array.from(train, (row) => shard[row]);
}

/** Up to `size` distinct entries of `pool`, drawn by `seed` (a partial Fisher-Yates on a copy), ascending. */
export function sampleWithoutReplacement(pool: ArrayLike<number>, size: number, seed: number): number[] {
	const items = Array.from(pool);
	const take = Math.min(size, items.length);
	const rng = createRng(seed);
	for (let i = 0; i < take; i++) {
		const j = i + rng.int(items.length - i);
		const t = items[i];
		items[i] = items[j];
		items[j] = t;
	}
	return items.slice(0, take).sort((a, b) => a - b);
}

/** The sample's seed: the project's seed and the version, so an audit of a version always draws the same examples. */
export function auditSeed(projectSeed: number, version: number): number {
	return (Math.imul(projectSeed >>> 0, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b)) >>> 0;
}

export interface AuditSample {
	/** Train-split indices of examples some contributing device trained on. */
	members: number[];
	/** Test-split indices: no device ever held them. */
	nonMembers: number[];
}

/**
 * Who held what in a demo project, as the server knows it: the union of the training rows of
 * the shards of `shardIndices`; a seeded sample of those and of the test split.
 */
export async function auditSample(project: Project, shardIndices: Iterable<number>, version: number, size = AUDIT_SAMPLE_SIZE): Promise<AuditSample> {
	const { train, test } = await loadDataset(project.dataset);
	const shards = partitionIndices(train, { partition: parsePartitionSpec(project.partition), shardCount: project.shardCount, seed: project.seed });
	const pool = new Set<number>();
	for (const s of new Set(shardIndices)) {
		if (!Number.isInteger(s) || s < 0 || s >= shards.length) continue;
		for (const row of shardTrainRows(shards[s], project)) pool.add(row);
	}
	const seed = auditSeed(project.seed, version);
	return {
		// Sorted first: the sample must not depend on the order the devices were listed in.
		members: sampleWithoutReplacement([...pool].sort((a, b) => a - b), size, seed),
		nonMembers: sampleWithoutReplacement(Uint32Array.from({ length: test.count }, (_, i) => i), size, seed ^ 0x5bd1e995)
	};
}

/**
 * The loss-threshold membership-inference audit of each committed model of a demo project:
 * per-example losses of members against non-members, stored with the model version.
 */
export class MembershipAuditor {
	constructor(
		private readonly deps: {
			store: Store;
			models: ModelService;
			feed: DashboardFeed;
			log: (message: string, fields?: LogFields) => void;
			sampleSize?: number;
		}
	) {}

	/** Shards of the devices whose updates were accepted in the rounds that led to `version`. */
	async contributingShards(projectId: string, version: number): Promise<Set<number>> {
		const rounds = await this.deps.store.rounds.listByProject(projectId);
		const accepted = new Set<string>();
		for (const r of rounds) {
			if (r.status === 'committed' && r.resultModelVersion !== null && r.resultModelVersion <= version) for (const d of r.accepted) accepted.add(d);
		}
		const shards = new Set<number>();
		for (const device of await this.deps.store.devices.listByProject(projectId)) if (accepted.has(device.id)) shards.add(device.shardIndex);
		return shards;
	}

	/** The audit of the version's weights, or null when the project has no server-known members (local data, nobody contributed). */
	async compute(project: Project, version: number, weights: Float32Array): Promise<MembershipAudit | null> {
		if (project.dataSource !== 'demo') return null;
		const shards = await this.contributingShards(project.id, version);
		const sample = await auditSample(project, shards, version, this.deps.sampleSize);
		if (sample.members.length === 0 || sample.nonMembers.length === 0) return null;
		const memberLosses = await this.deps.models.perExampleLoss(project.model, project.dataset, weights, 'train', sample.members);
		const nonMemberLosses = await this.deps.models.perExampleLoss(project.model, project.dataset, weights, 'test', sample.nonMembers);
		const { auc, advantage } = lossThresholdAttack(memberLosses, nonMemberLosses);
		return { auc, advantage, members: sample.members.length, nonMembers: sample.nonMembers.length };
	}

	/**
	 * After a commit: computes, stores and announces the audit. Never rejects and never fails the
	 * round; a failure is logged and the version keeps no audit.
	 */
	async afterCommit(project: Project, version: number, weights: Float32Array): Promise<ModelRecord | null> {
		if (project.dataSource !== 'demo') return null;
		const fields = { projectId: project.id };
		try {
			const started = performance.now();
			const audit = await this.compute(project, version, weights);
			if (!audit) {
				this.deps.log(`membership audit of model v${version} of ${project.id}: no known members`, fields);
				return null;
			}
			const saved = await this.deps.store.models.setMembershipAudit(project.id, version, audit);
			this.deps.log(
				`membership audit of model v${version} of ${project.id}: attack AUC ${audit.auc.toFixed(4)}, advantage ${audit.advantage.toFixed(4)} ` +
					`(${audit.members} members, ${audit.nonMembers} non-members, ${Math.round(performance.now() - started)} ms)`,
				fields
			);
			if (saved) this.deps.feed.model(saved);
			return saved;
		} catch (e) {
			this.deps.log(`membership audit of model v${version} of ${project.id} failed: ${String(e)}`, fields);
			return null;
		}
	}
}
