import { splitIndices } from '@qflare/data-import';
import { loadDataset, parsePartitionSpec, partitionIndices, shardOf } from '@qflare/datasets';
import { PROJECT_DEFAULTS, type Device, type ModelRecord, type Project, type Round } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import { LocalTrainer, MODEL_SPECS } from '@qflare/trainer';
import { initNodeTf } from '@qflare/trainer/node';
import { describe, expect, it } from 'vitest';
import { NodeModelService } from '../models/node-model-service';
import { auditSample, MembershipAuditor, sampleWithoutReplacement, shardTrainRows } from './membership-audit';
import type { DashboardFeed, ModelService } from './ports';

// 40 shards of the packaged MNIST's 8,000 training rows: 200 rows each, 180 of them trained on (10% held out).
const demo = {
	...PROJECT_DEFAULTS,
	id: 'p',
	dataSource: 'demo',
	dataset: 'mnist',
	model: 'mlp',
	partition: 'iid',
	shardCount: 40,
	seed: 11,
	holdOutFraction: 0.1
} as unknown as Project;

/** A store that knows only the project's rounds and devices, and records what the auditor saves. */
function fakeStore(rounds: Partial<Round>[], devices: Partial<Device>[]) {
	const saved: unknown[] = [];
	const store = {
		rounds: { listByProject: async () => rounds as Round[] },
		devices: { listByProject: async () => devices as Device[] },
		models: {
			setMembershipAudit: async (projectId: string, version: number, audit: unknown) => {
				saved.push({ projectId, version, audit });
				return { projectId, version, membershipAudit: audit } as ModelRecord;
			}
		}
	} as unknown as Store;
	return { store, saved };
}

const feed = (models: ModelRecord[]): DashboardFeed => ({ project: () => {}, round: () => {}, model: (m) => models.push(m) });

describe('membership audit sample', () => {
	it('draws members from the training rows of the contributing shards only, and non-members from the test split, by seed and version', async () => {
		const { train, test } = await loadDataset('mnist');
		const shards = partitionIndices(train, { partition: parsePartitionSpec('iid'), shardCount: 40, seed: 11 });
		const rows3 = shardTrainRows(shards[3], demo);
		// What the device trains on: its shard less the hold-out drawn by the project's seed.
		const heldOut = Array.from(splitIndices(shards[3].length, { holdOutFraction: 0.1, seed: 11 }).holdOut, (i) => shards[3][i]);
		expect(rows3).toHaveLength(180);
		expect(heldOut).toHaveLength(20);
		expect(rows3.some((r) => heldOut.includes(r))).toBe(false);

		const pool = new Set([...rows3, ...shardTrainRows(shards[7], demo)]);
		const a = await auditSample(demo, [3, 7, 7], 1, 100);
		expect(a.members).toHaveLength(100);
		expect(a.nonMembers).toHaveLength(100);
		expect(new Set(a.members).size).toBe(100);
		expect(a.members.every((r) => pool.has(r))).toBe(true);
		expect(a.nonMembers.every((r) => Number.isInteger(r) && r >= 0 && r < test.count)).toBe(true);
		// Deterministic per (project seed, version); another version draws another sample.
		expect(await auditSample(demo, [7, 3], 1, 100)).toEqual(a);
		expect((await auditSample(demo, [3, 7], 2, 100)).members).not.toEqual(a.members);
		// Fewer rows than asked for: all of them; unknown shards are ignored.
		const all = await auditSample(demo, [3, 99, -1], 1, 1_000);
		expect(all.members).toEqual([...rows3].sort((x, y) => x - y));
		expect(all.nonMembers).toHaveLength(1_000);
		expect((await auditSample(demo, [], 1)).members).toEqual([]);
	});

	it('samples without replacement', () => {
		expect(sampleWithoutReplacement([5, 6, 7], 10, 1)).toEqual([5, 6, 7]);
		const s = sampleWithoutReplacement(Array.from({ length: 50 }, (_, i) => i), 20, 9);
		expect(new Set(s).size).toBe(20);
		expect(s).toEqual([...s].sort((x, y) => x - y));
		expect(sampleWithoutReplacement([], 3, 1)).toEqual([]);
	});
});

describe('MembershipAuditor', () => {
	const rounds: Partial<Round>[] = [
		{ status: 'committed', resultModelVersion: 1, accepted: ['a', 'b'] },
		{ status: 'failed', resultModelVersion: null, accepted: ['c'] },
		{ status: 'committed', resultModelVersion: 2, accepted: ['d'] }
	];
	const devices: Partial<Device>[] = [
		{ id: 'a', shardIndex: 3 },
		{ id: 'b', shardIndex: 3 },
		{ id: 'c', shardIndex: 5 },
		{ id: 'd', shardIndex: 7 },
		{ id: 'e', shardIndex: 9 }
	];

	it('counts the shards of devices accepted in committed rounds up to the version', async () => {
		const { store } = fakeStore(rounds, devices);
		const auditor = new MembershipAuditor({ store, models: {} as ModelService, feed: feed([]), log: () => {} });
		expect([...(await auditor.contributingShards('p', 1))]).toEqual([3]);
		expect([...(await auditor.contributingShards('p', 2))].sort()).toEqual([3, 7]);
	});

	it('scores members against non-members with the model service, stores and announces it; local data gets none; failures are logged', async () => {
		const { store, saved } = fakeStore(rounds, devices);
		// A stub that "remembers" the training split: members lose 0.1, test examples 1, except every fourth.
		const calls: string[] = [];
		const models = {
			perExampleLoss: async (_m: string, _d: string, _w: Float32Array, split: 'train' | 'test', indices: ArrayLike<number>) => {
				calls.push(`${split}:${indices.length}`);
				return Float64Array.from(Array.from(indices), (_, i) => (split === 'train' ? 0.1 : i % 4 === 0 ? 0.1 : 1));
			}
		} as unknown as ModelService;
		const announced: ModelRecord[] = [];
		const logs: string[] = [];
		const auditor = new MembershipAuditor({ store, models, feed: feed(announced), log: (m) => logs.push(m), sampleSize: 100 });
		const record = await auditor.afterCommit(demo, 2, new Float32Array(1));
		expect(calls).toEqual(['train:100', 'test:100']);
		// 25 non-members tie with every member (half each), 75 lose: AUC = (75 + 25 / 2) / 100; TPR 1 - FPR 0.25.
		const audit = { auc: 0.875, advantage: 0.75, members: 100, nonMembers: 100 };
		expect(saved).toEqual([{ projectId: 'p', version: 2, audit }]);
		expect(record?.membershipAudit).toEqual(audit);
		expect(announced).toEqual([record]);
		expect(logs.at(-1)).toMatch(/membership audit of model v2 of p: attack AUC 0\.8750, advantage 0\.7500 \(100 members, 100 non-members, \d+ ms\)/);

		expect(await auditor.afterCommit({ ...demo, dataSource: 'local' } as Project, 3, new Float32Array(1))).toBeNull();
		expect(saved).toHaveLength(1);

		const broken = new MembershipAuditor({
			store,
			models: { perExampleLoss: async () => Promise.reject(new Error('model exploded')) } as unknown as ModelService,
			feed: feed(announced),
			log: (m) => logs.push(m)
		});
		expect(await broken.afterCommit(demo, 2, new Float32Array(1))).toBeNull();
		expect(logs.at(-1)).toBe('membership audit of model v2 of p failed: Error: model exploded');
	});

	it('finds a model that memorised its members (AUC well above 0.5) and none in a fresh model (about 0.5)', async () => {
		const { tf } = await initNodeTf();
		const { train } = await loadDataset('mnist');
		const shards = partitionIndices(train, { partition: parsePartitionSpec('iid'), shardCount: 40, seed: 11 });
		const members = shardTrainRows(shards[3], demo);
		const service = new NodeModelService();
		const trainer = new LocalTrainer(tf);
		trainer.prepare(MODEL_SPECS.mlp, 5);
		const fresh = trainer.weights();
		// 180 examples, 80 epochs: the MLP memorises them (training loss near 0); many test digits it still gets right, so
		// the attack reaches about 0.72 here, not 1.
		const { delta } = await trainer.train(fresh, shardOf(train, members), { localEpochs: 80, batchSize: 32, learningRate: 0.1, seed: 1 });
		const overfitted = Float32Array.from(fresh, (w, i) => w + delta[i]);
		trainer.dispose();

		const { store } = fakeStore([{ status: 'committed', resultModelVersion: 1, accepted: ['a'] }], [{ id: 'a', shardIndex: 3 }]);
		const auditor = new MembershipAuditor({ store, models: service, feed: feed([]), log: () => {}, sampleSize: 500 });
		const started = performance.now();
		const memorised = await auditor.compute(demo, 1, overfitted);
		const ms = performance.now() - started;
		const baseline = await auditor.compute(demo, 1, fresh);
		console.log(`membership audit: overfitted AUC ${memorised?.auc.toFixed(4)} adv ${memorised?.advantage.toFixed(4)}, fresh AUC ${baseline?.auc.toFixed(4)} adv ${baseline?.advantage.toFixed(4)}, ${ms.toFixed(0)} ms`);
		expect(memorised).toMatchObject({ members: 180, nonMembers: 500 });
		expect(memorised!.auc).toBeGreaterThan(0.65);
		expect(memorised!.advantage).toBeGreaterThan(0.3);
		expect(Math.abs(baseline!.auc - 0.5)).toBeLessThan(0.08);
	}, 60_000);
});
