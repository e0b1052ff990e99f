import { PROJECT_DEFAULTS, type FederatedEvaluation, type ProjectConfig, type Standardization, type TaskSchema } from '@qflare/protocol';
import { MongoClient } from 'mongodb';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from './backend';
import { openEmbeddedBackend } from './embedded/embedded-backend';
import { DuplicateKeyError, IntegrityError } from './errors';
import { openMongoBackend } from './mongo/mongo-backend';
import { openStore, type Store } from './open-store';
import type { CollectionPort, StoredDoc } from './port';

/**
 * One contract for both backends: embedded always, MongoDB (or FerretDB, CI's stand-in)
 * when MONGODB_URI is set. Every repository method runs against each.
 */
const mongodbUri = process.env.MONGODB_URI || undefined;
const backends: Array<'embedded' | 'mongodb'> = mongodbUri ? ['embedded', 'mongodb'] : ['embedded'];
console.log(
	`store contract: backends = ${backends.join(', ')}${mongodbUri ? ` (MONGODB_URI=${mongodbUri})` : ' (mongodb not run: MONGODB_URI unset)'}`
);

const config: ProjectConfig = {
	...PROJECT_DEFAULTS,
	name: 'mnist demo',
	dataset: 'mnist',
	model: 'mlp',
	rounds: 5,
	minParticipants: 2,
	shardCount: 10,
	roundTimeoutSec: 60,
	seed: 7,
	localEpochs: 1,
	batchSize: 32,
	learningRate: 0.01
};

/** Every project belongs to an organisation; the older tests need just one. */
const org = { organisationId: 'org1' };

/** A clock that moves one millisecond per reading, so orderings are deterministic. */
function steppingClock(start = Date.parse('2025-01-01T00:00:00Z')) {
	let t = start;
	return () => new Date(t++);
}

let admin: MongoClient | undefined;
/** Set when the MongoDB backend is FerretDB, CI's stand-in; some guarantees differ there. */
let ferretdb: string | null = null;
beforeAll(async () => {
	if (!mongodbUri) return;
	admin = await new MongoClient(mongodbUri).connect();
	const info = await admin.db('admin').command({ buildInfo: 1 });
	ferretdb = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : null;
});

/**
 * On FerretDB, a MongoDB guarantee the contract checks does not hold. Returns true there
 * (after saying so in the output) so the test asserts the weaker FerretDB behaviour instead.
 */
function ferretdbDiffers(backend: string, what: string): boolean {
	if (backend !== 'mongodb' || ferretdb === null) return false;
	console.log(`store contract: FerretDB ${ferretdb} differs from MongoDB: ${what}`);
	return true;
}
afterAll(async () => {
	await admin?.close();
});

describe.each(backends)('store contract: %s', (backend) => {
	let dataDir: string;
	let dbName: string;
	let store: Store;
	const open = (clock = steppingClock()) =>
		openStore({ mongodbUri: backend === 'mongodb' ? mongodbUri : undefined, dataDir, dbName, clock });

	beforeEach(async () => {
		dataDir = await mkdtemp(join(tmpdir(), 'qflare-store-'));
		dbName = `qflare_test_${randomUUID().slice(0, 8)}`;
		store = await open();
	});
	afterEach(async () => {
		await store.close();
		await rm(dataDir, { recursive: true, force: true });
		await admin?.db(dbName).dropDatabase();
	});

	it('opens the backend it was asked for', () => {
		expect(store.backend).toBe(backend);
	});

	describe('projects', () => {
		it('creates, gets, lists newest first with limit/skip, and updates', async () => {
			const a = await store.projects.create(config, org);
			const b = await store.projects.create({ ...config, name: 'second' }, org);
			const c = await store.projects.create({ ...config, name: 'third' }, { ...org, id: 'fixed-id' });
			expect(c.id).toBe('fixed-id');
			expect(a).toMatchObject({ status: 'idle', modelVersion: 0, currentRound: 0, name: 'mnist demo' });
			expect(await store.projects.get(a.id)).toEqual(a);
			expect(await store.projects.get('nope')).toBeNull();
			expect((await store.projects.list()).map((p) => p.id)).toEqual([c.id, b.id, a.id]);
			expect((await store.projects.list({ limit: 1, skip: 1 })).map((p) => p.id)).toEqual([b.id]);

			const updated = await store.projects.update(a.id, { status: 'running', currentRound: 1 });
			expect(updated).toMatchObject({ id: a.id, status: 'running', currentRound: 1, createdAt: a.createdAt });
			expect(updated!.updatedAt > a.updatedAt).toBe(true);
			expect((await store.projects.list({ status: 'running' })).map((p) => p.id)).toEqual([a.id]);
			expect(await store.projects.update('nope', { status: 'running' })).toBeNull();
		});

		it('guards an update on the expected status', async () => {
			const p = await store.projects.create(config, org);
			const [first, second] = await Promise.all([
				store.projects.update(p.id, { status: 'running' }, { expectStatus: 'idle' }),
				store.projects.update(p.id, { status: 'running' }, { expectStatus: 'idle' })
			]);
			const winners = [first, second].filter((r) => r !== null).length;
			if (winners > 1 && ferretdbDiffers(backend, `guarded update raced: ${winners} of 2 writers won (conditional updates are not atomic on its SQLite backend)`)) {
				expect(winners).toBe(2);
			} else {
				expect(winners).toBe(1);
			}
			expect(await store.projects.update(p.id, { status: 'stopped' }, { expectStatus: ['idle', 'completed'] })).toBeNull();
			expect(await store.projects.update(p.id, { status: 'stopped' }, { expectStatus: ['running'] })).toMatchObject({ status: 'stopped' });
		});
	});

	describe('devices', () => {
		const base = { projectId: 'p1', publicKey: 'pk', kind: 'browser' as const };

		it('upserts by (projectId, id), keeping registeredAt and applying defaults once', async () => {
			const first = await store.devices.upsert({ ...base, id: 'd1', userAgent: 'UA1' });
			expect(first).toMatchObject({ id: 'd1', projectId: 'p1', online: false, backend: null, samples: 0, userAgent: 'UA1' });
			const again = await store.devices.upsert({ ...base, id: 'd1', publicKey: 'pk2', online: true, samples: 600 });
			expect(again).toMatchObject({ id: 'd1', publicKey: 'pk2', online: true, samples: 600, userAgent: 'UA1' });
			expect(again.registeredAt).toBe(first.registeredAt);
			// Same device id in another project is another device.
			await store.devices.upsert({ ...base, projectId: 'p2', id: 'd1' });
			expect(await store.devices.countByProject('p1')).toBe(1);
			expect(await store.devices.countByProject('p2')).toBe(1);
			expect(await store.devices.get('p2', 'd1')).toMatchObject({ id: 'd1', projectId: 'p2', publicKey: 'pk' });
			expect(await store.devices.get('p3', 'd1')).toBeNull();
		});

		it('survives racing upserts of one device as one document', async () => {
			await Promise.all(Array.from({ length: 5 }, (_, i) => store.devices.upsert({ ...base, id: 'race', samples: i })));
			expect(await store.devices.countByProject('p1')).toBe(1);
		});

		it('sets online, backend, samples and lastSeen; lists by project; marks all offline', async () => {
			for (const id of ['a', 'b', 'c']) await store.devices.upsert({ ...base, id });
			await store.devices.upsert({ ...base, projectId: 'other', id: 'z', online: true });
			const online = await store.devices.setOnline('p1', 'b', true);
			expect(online).toMatchObject({ id: 'b', online: true });
			expect(online!.lastSeen > online!.registeredAt).toBe(true);
			await store.devices.setOnline('p1', 'c', true);
			const patched = await store.devices.update('p1', 'c', { backend: 'webgpu', backendReason: null, samples: 1200 });
			expect(patched).toMatchObject({ backend: 'webgpu', samples: 1200, online: true });
			expect(await store.devices.update('p1', 'missing', { samples: 1 })).toBeNull();

			expect((await store.devices.listByProject('p1')).map((d) => d.id)).toEqual(['a', 'b', 'c']);
			expect((await store.devices.listByProject('p1', { online: true })).map((d) => d.id)).toEqual(['b', 'c']);
			expect(await store.devices.countByProject('p1', { online: false })).toBe(1);

			expect(await store.devices.markAllOffline('p1')).toBe(2);
			expect(await store.devices.countByProject('other', { online: true })).toBe(1);
			expect(await store.devices.markAllOffline()).toBe(1);
			expect(await store.devices.countByProject('p1', { online: true })).toBe(0);
			expect(await store.devices.countByProject('other', { online: true })).toBe(0);
		});
	});

	describe('rounds', () => {
		const newRound = (number: number, projectId = 'p1') => ({
			projectId,
			number,
			baseModelVersion: number - 1,
			deadline: '2025-01-01T00:01:00.000Z'
		});

		it('creates with a unique number per project and finds current / by number', async () => {
			const r1 = await store.rounds.create(newRound(1));
			expect(r1).toMatchObject({ status: 'open', accepted: [], selected: [], totalSamples: 0, endedAt: null, resultModelVersion: null });
			await expect(store.rounds.create(newRound(1))).rejects.toBeInstanceOf(DuplicateKeyError);
			await store.rounds.create(newRound(1, 'p2'));
			const r3 = await store.rounds.create(newRound(3));
			await store.rounds.create(newRound(2));
			expect(await store.rounds.current('p1')).toEqual(r3);
			expect(await store.rounds.current('nope')).toBeNull();
			expect(await store.rounds.get(r1.id)).toEqual(r1);
			expect((await store.rounds.getByNumber('p1', 3))?.id).toBe(r3.id);
			expect((await store.rounds.listByProject('p1')).map((r) => r.number)).toEqual([1, 2, 3]);
			expect((await store.rounds.listByProject('p1', { order: 'desc', limit: 2 })).map((r) => r.number)).toEqual([3, 2]);
			expect((await store.rounds.listByProject('p1', { skip: 1, limit: 1 })).map((r) => r.number)).toEqual([2]);
		});

		it('lets exactly one of two racing writers move the status', async () => {
			const r = await store.rounds.create(newRound(1));
			const results = await Promise.all([
				store.rounds.transition(r.id, 'open', 'training'),
				store.rounds.transition(r.id, 'open', 'training')
			]);
			const winners = results.filter((x) => x !== null).length;
			if (winners > 1 && ferretdbDiffers(backend, `guarded round transition raced: ${winners} of 2 writers won (findOneAndUpdate is not atomic on its SQLite backend)`)) {
				expect(winners).toBe(2);
			} else {
				expect(winners).toBe(1);
			}
			expect(await store.rounds.transition(r.id, 'open', 'aggregating')).toBeNull();
			const agg = await store.rounds.transition(r.id, ['open', 'training'], 'aggregating', { deadline: 'x' });
			expect(agg).toMatchObject({ status: 'aggregating', deadline: 'x', endedAt: null });
			const done = await store.rounds.transition(r.id, 'aggregating', 'committed', {
				resultModelVersion: 1,
				metrics: { testAccuracy: 0.9, testLoss: 0.3, trainLoss: 0.4, trainAccuracy: 0.88 }
			});
			expect(done).toMatchObject({ status: 'committed', resultModelVersion: 1, metrics: { testAccuracy: 0.9 } });
			expect(done!.endedAt).not.toBeNull();
			expect(await store.rounds.transition('missing', 'open', 'failed')).toBeNull();
			expect(await store.rounds.update(r.id, { failureReason: 'none' })).toMatchObject({ failureReason: 'none' });
		});

		it('refuses a transition fenced with a lower token than the one that last moved the round', async () => {
			const r = await store.rounds.create({ ...newRound(1), fence: 3 });
			expect(r).not.toHaveProperty('fence');
			// A leader whose lease was taken over (token 2 < 3) cannot move the round.
			expect(await store.rounds.transition(r.id, 'open', 'training', {}, 2)).toBeNull();
			const moved = await store.rounds.transition(r.id, 'open', 'training', {}, 5);
			expect(moved).toMatchObject({ status: 'training' });
			expect(moved).not.toHaveProperty('fence');
			// Token 5 is now on record: 3 no longer passes, 5 still does; an unfenced write is not checked.
			expect(await store.rounds.transition(r.id, 'training', 'aggregating', {}, 3)).toBeNull();
			expect(await store.rounds.transition(r.id, 'training', 'aggregating', {}, 5)).toMatchObject({ status: 'aggregating' });
			expect(await store.rounds.transition(r.id, 'aggregating', 'failed')).toMatchObject({ status: 'failed' });
			expect(await store.rounds.get(r.id)).not.toHaveProperty('fence');
		});

		it('adds accepted devices once, only while accepting; selected is a set', async () => {
			const r = await store.rounds.create(newRound(1));
			expect(await store.rounds.addSelected(r.id, 'a')).toMatchObject({ selected: ['a'] });
			expect(await store.rounds.addSelected(r.id, 'a')).toMatchObject({ selected: ['a'] });
			expect(await store.rounds.addAccepted(r.id, 'a', 100)).toMatchObject({ accepted: ['a'], totalSamples: 100 });
			expect(await store.rounds.addAccepted(r.id, 'a', 100)).toBeNull();
			await store.rounds.transition(r.id, 'open', 'training');
			expect(await store.rounds.addAccepted(r.id, 'b', 50)).toMatchObject({ accepted: ['a', 'b'], totalSamples: 150 });
			await store.rounds.transition(r.id, 'training', 'aggregating');
			expect(await store.rounds.addAccepted(r.id, 'c', 10)).toBeNull();
			expect(await store.rounds.addSelected(r.id, 'c')).toBeNull();
			expect(await store.rounds.get(r.id)).toMatchObject({ accepted: ['a', 'b'], totalSamples: 150 });
		});
	});

	describe('updates', () => {
		const rec = (deviceId: string, roundId = 'r1', sha = `sha-${deviceId}`) => ({
			projectId: 'p1',
			roundId,
			deviceId,
			numSamples: 60,
			payloadSha256: sha,
			bytes: 1024,
			trainLoss: 0.5,
			trainAccuracy: 0.8,
			trainMs: 1500,
			receivedAt: `2025-01-01T00:00:0${deviceId.length}.000Z`
		});

		it('inserts one per device per round, finds, lists, dedups by hash, deletes by round', async () => {
			const a = await store.updates.insert(rec('a'));
			await store.updates.insert(rec('bb'));
			await store.updates.insert(rec('a', 'r2', 'sha-same'));
			await expect(store.updates.insert(rec('a'))).rejects.toBeInstanceOf(DuplicateKeyError);
			expect(await store.updates.findByRoundAndDevice('r1', 'a')).toEqual(a);
			expect(await store.updates.findByRoundAndDevice('r1', 'zz')).toBeNull();
			expect((await store.updates.listByRound('r1')).map((u) => u.deviceId)).toEqual(['a', 'bb']);
			expect(await store.updates.countByRound('r1')).toBe(2);
			expect((await store.updates.findByPayloadHash('p1', 'sha-same'))?.roundId).toBe('r2');
			expect(await store.updates.findByPayloadHash('p2', 'sha-same')).toBeNull();
			expect(await store.updates.deleteByRound('r1')).toBe(2);
			expect(await store.updates.listByRound('r1')).toEqual([]);
			expect(await store.updates.countByRound('r2')).toBe(1);
		});

		it('keeps payloads byte for byte until the round ends, lists them in fold order, then drops them but keeps the records', async () => {
			const bytesOf = (seed: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
			const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
			const big = bytesOf(1, 300_000);
			const small = bytesOf(2, 17);
			// Arrival order differs from fold order (persists can finish out of order): the fold order wins.
			await store.updates.insert({ ...rec('late'), payloadSha256: sha(big), bytes: big.byteLength }, { bytes: big, foldIndex: 1, steps: 12, valAccuracy: 0.75 });
			await store.updates.insert({ ...rec('e'), payloadSha256: sha(small), bytes: small.byteLength }, { bytes: small, foldIndex: 0, steps: 3, valAccuracy: null });
			await store.updates.insert(rec('old'));
			await expect(
				store.updates.insert({ ...rec('e'), payloadSha256: sha(small) }, { bytes: small, foldIndex: 5, steps: 1, valAccuracy: null })
			).rejects.toBeInstanceOf(DuplicateKeyError);

			const record = await store.updates.findByRoundAndDevice('r1', 'late');
			expect(record).not.toHaveProperty('blob');
			expect(record).not.toHaveProperty('foldIndex');
			const loaded = await store.updates.loadPayload('r1', 'late');
			expect(loaded).toMatchObject({ foldIndex: 1, steps: 12, valAccuracy: 0.75 });
			expect(Buffer.from(loaded!.bytes).equals(Buffer.from(big))).toBe(true);
			expect(await store.updates.loadPayload('r1', 'old')).toBeNull();
			expect(await store.updates.loadPayload('r1', 'nobody')).toBeNull();

			const listed = await store.updates.listWithPayloads('r1');
			expect(listed.map((u) => [u.record.deviceId, u.payload.foldIndex])).toEqual([
				['e', 0],
				['late', 1]
			]);
			expect(Array.from(listed[0].payload.bytes)).toEqual(Array.from(small));
			expect(listed[0].record).toEqual(await store.updates.findByRoundAndDevice('r1', 'e'));

			expect(await store.updates.deletePayloads('r1')).toBe(2);
			expect(await store.updates.deletePayloads('r1')).toBe(0);
			expect(await store.updates.listWithPayloads('r1')).toEqual([]);
			expect(await store.updates.loadPayload('r1', 'late')).toBeNull();
			expect((await store.updates.listByRound('r1')).map((u) => u.deviceId).sort()).toEqual(['e', 'late', 'old']);
		});

		it('deletes one update with its payload, and refuses a payload that no longer matches its digest', async () => {
			const bytes = Uint8Array.from([1, 2, 3, 4]);
			const digest = createHash('sha256').update(bytes).digest('hex');
			await store.updates.insert({ ...rec('a'), payloadSha256: digest }, { bytes, foldIndex: 0, steps: 1, valAccuracy: null });
			await store.updates.insert({ ...rec('b'), payloadSha256: 'not-the-digest' }, { bytes, foldIndex: 1, steps: 1, valAccuracy: null });
			await expect(store.updates.loadPayload('r1', 'b')).rejects.toBeInstanceOf(IntegrityError);
			await expect(store.updates.listWithPayloads('r1')).rejects.toBeInstanceOf(IntegrityError);
			expect(await store.updates.deleteOne('r1', 'b')).toBe(1);
			expect((await store.updates.listWithPayloads('r1')).map((u) => u.record.deviceId)).toEqual(['a']);
			expect(await store.updates.deleteByRound('r1')).toBe(1);
			expect(await store.updates.loadPayload('r1', 'a')).toBeNull();
		});
	});

	describe('models', () => {
		it('round-trips 1.66M float weights bit-exact, with latest/list/metrics', async () => {
			const n = 1_660_000;
			const weights = new Float32Array(n);
			const bits = new Uint32Array(weights.buffer);
			// Random bit patterns cover NaN payloads, infinities, -0 and subnormals as well.
			let x = 0x9e3779b9;
			for (let i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >>> 17;
				x ^= x << 5;
				bits[i] = x >>> 0;
			}
			const v0 = await store.models.saveModel({ projectId: 'p1', version: 0, roundNumber: null }, weights);
			expect(v0).toMatchObject({ version: 0, parameterCount: n, testAccuracy: null });
			expect(v0.sha256).toMatch(/^[0-9a-f]{64}$/);
			const back = await store.models.loadWeights('p1', 0);
			expect(back).toBeInstanceOf(Float32Array);
			expect(back!.length).toBe(n);
			expect(Buffer.compare(Buffer.from(back!.buffer, back!.byteOffset, back!.byteLength), Buffer.from(weights.buffer))).toBe(0);

			const small = Float32Array.from([1, 2, 3]);
			const v1 = await store.models.saveModel({ projectId: 'p1', version: 1, roundNumber: 1, testAccuracy: 0.5 }, small);
			await expect(store.models.saveModel({ projectId: 'p1', version: 1, roundNumber: 1 }, new Float32Array(2))).rejects.toBeInstanceOf(
				DuplicateKeyError
			);
			expect(Array.from((await store.models.loadWeights('p1', 1))!)).toEqual([1, 2, 3]);
			expect(await store.models.latest('p1')).toEqual(v1);
			expect(await store.models.latest('p2')).toBeNull();
			expect((await store.models.list('p1')).map((m) => m.version)).toEqual([0, 1]);
			expect(await store.models.get('p1', 0)).toEqual(v0);
			expect(await store.models.loadWeights('p1', 9)).toBeNull();
			expect(await store.models.setMetrics('p1', 1, { testAccuracy: 0.75, testLoss: 0.6 })).toMatchObject({ testAccuracy: 0.75, testLoss: 0.6 });
			expect(Object.keys(v1).sort()).toEqual(
				['createdAt', 'federatedEvaluation', 'id', 'membershipAudit', 'parameterCount', 'projectId', 'roundNumber', 'sha256', 'testAccuracy', 'testLoss', 'version'].sort()
			);
		});
	});

	describe('events', () => {
		it('appends and lists newest first per project, with limit and type', async () => {
			// A frozen clock: order must still follow insertion.
			await store.close();
			const at = new Date('2025-01-01T00:00:00Z');
			store = await open(() => at);
			for (let i = 0; i < 5; i++) await store.events.append({ projectId: 'p1', type: i % 2 ? 'odd' : 'even', message: `m${i}`, data: { i } });
			await store.events.append({ projectId: null, type: 'boot', message: 'server started' });
			expect((await store.events.listRecent('p1')).map((e) => e.message)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
			expect((await store.events.listRecent('p1', { limit: 2 })).map((e) => e.message)).toEqual(['m4', 'm3']);
			expect((await store.events.listRecent('p1', { type: 'odd' })).map((e) => e.data)).toEqual([{ i: 3 }, { i: 1 }]);
			const [boot] = await store.events.listRecent(null);
			expect(boot).toMatchObject({ projectId: null, type: 'boot', data: {}, at: at.toISOString() });
			expect(Object.keys(boot!).sort()).toEqual(['at', 'data', 'id', 'message', 'projectId', 'type']);
		});
	});


	describe('local data and federated evaluation', () => {
		// Column names a CSV header may hold but neither nedb nor MongoDB takes as field names.
		const task: TaskSchema = {
			kind: 'tabular',
			features: [
				{ name: 'price.usd', type: 'numeric' },
				{ name: '$total', type: 'numeric' },
				{ name: 'colour', type: 'categorical', values: ['red', 'blue'] }
			],
			target: 'y',
			objective: { type: 'regression', loss: 'mse' }
		};
		const standardization: Standardization = {
			columns: { 'price.usd': { mean: 2.5, std: 0.5 }, $total: { mean: -1, std: 1 }, y: { mean: 10, std: 4 } },
			rows: 12,
			devices: 3
		};
		const evaluation: FederatedEvaluation = { modelVersion: 1, devices: 2, n: 30, loss: 0.25, accuracy: 0.9, macroF1: 0.85, mae: null, rmse: null };

		it('persists a local project with its task, hold-out and standardization', async () => {
			const p = await store.projects.create({ ...config, dataSource: 'local', task, model: 'logistic', holdOutFraction: 0.2 }, org);
			expect(p).toMatchObject({ dataSource: 'local', task, holdOutFraction: 0.2, standardization: null });
			expect(await store.projects.get(p.id)).toEqual(p);
			const frozen = await store.projects.update(p.id, { standardization });
			expect(frozen?.standardization).toEqual(standardization);
			await store.close();
			store = await open();
			expect(await store.projects.get(p.id)).toMatchObject({ task, standardization });
			expect((await store.projects.list())[0]?.standardization).toEqual(standardization);
		});

		it('persists feature statistics and the last evaluation of a device', async () => {
			const base = { projectId: 'p1', publicKey: 'pk', kind: 'node' as const };
			const fresh = await store.devices.upsert({ ...base, id: 'd1' });
			expect(fresh).toMatchObject({ featureStats: null, lastEvaluation: null });
			const featureStats = { columns: { 'price.usd': { count: 4, sum: 10, sumSquares: 26 }, $total: { count: 4, sum: -4, sumSquares: 8 } } };
			const lastEvaluation = { modelVersion: 2, n: 10, loss: 0.5, accuracy: 0.8, macroF1: 0.75, mae: null, rmse: null, at: '2025-01-01T00:00:00.000Z' };
			expect(await store.devices.update('p1', 'd1', { featureStats, lastEvaluation })).toMatchObject({ featureStats, lastEvaluation });
			expect(await store.devices.upsert({ ...base, id: 'd2', featureStats })).toMatchObject({ featureStats });
			await store.close();
			store = await open();
			expect(await store.devices.get('p1', 'd1')).toMatchObject({ featureStats, lastEvaluation });
			expect((await store.devices.listByProject('p1')).map((d) => d.featureStats)).toEqual([featureStats, featureStats]);
			expect(await store.devices.update('p1', 'd1', { featureStats: null })).toMatchObject({ featureStats: null, lastEvaluation });
		});

		it('keeps the federated evaluation of a round and of a model version', async () => {
			const r = await store.rounds.create({ projectId: 'p1', number: 1, baseModelVersion: 0, deadline: 'x' });
			expect(r.federatedEvaluation).toBeNull();
			expect(await store.rounds.update(r.id, { federatedEvaluation: evaluation })).toMatchObject({ federatedEvaluation: evaluation });
			expect((await store.rounds.get(r.id))?.federatedEvaluation).toEqual(evaluation);
			await store.models.saveModel({ projectId: 'p1', version: 1, roundNumber: 1 }, Float32Array.from([1]));
			expect((await store.models.get('p1', 1))?.federatedEvaluation).toBeNull();
			expect(await store.models.setFederatedEvaluation('p1', 1, evaluation)).toMatchObject({ version: 1, federatedEvaluation: evaluation });
			expect((await store.models.list('p1'))[0]?.federatedEvaluation).toEqual(evaluation);
			expect(await store.models.setFederatedEvaluation('p1', 9, evaluation)).toBeNull();
		});

		it('keeps the membership audit of a model version beside its other metrics', async () => {
			const audit = { auc: 0.5625, advantage: 0.125, members: 1000, nonMembers: 1000 };
			await store.models.saveModel({ projectId: 'p1', version: 1, roundNumber: 1, testAccuracy: 0.9, testLoss: 0.3 }, Float32Array.from([1]));
			expect((await store.models.get('p1', 1))?.membershipAudit).toBeNull();
			expect(await store.models.setMembershipAudit('p1', 1, audit)).toMatchObject({ version: 1, membershipAudit: audit, testAccuracy: 0.9 });
			await store.models.setFederatedEvaluation('p1', 1, evaluation);
			expect((await store.models.list('p1'))[0]).toMatchObject({ membershipAudit: audit, federatedEvaluation: evaluation });
			expect((await store.models.latest('p1'))?.membershipAudit).toEqual(audit);
			expect(await store.models.setMembershipAudit('p1', 1, null)).toMatchObject({ membershipAudit: null });
			expect(await store.models.setMembershipAudit('p1', 9, audit)).toBeNull();
		});

		it('keeps one evaluation per (round, device): a re-sent report replaces the first', async () => {
			const report = (deviceId: string, roundId: string, roundNumber: number, correct: number) => ({
				projectId: 'p1',
				roundId,
				roundNumber,
				deviceId,
				modelVersion: roundNumber,
				n: 10,
				loss: 0.5,
				classification: { correct, truePositives: [correct, 0], falsePositives: [0, 10 - correct], falseNegatives: [10 - correct, 0] }
			});
			const first = await store.evaluations.put(report('a', 'r1', 1, 7));
			expect(first.replaced).toBe(false);
			expect(first.record).toMatchObject({ id: 'r1:a', deviceId: 'a', n: 10, classification: { correct: 7 } });
			expect(first.record).not.toHaveProperty('regression');
			expect((await store.evaluations.put(report('a', 'r1', 1, 9))).replaced).toBe(true);
			await store.evaluations.put(report('b', 'r1', 1, 5));
			await store.evaluations.put({
				projectId: 'p1',
				roundId: 'r2',
				roundNumber: 2,
				deviceId: 'a',
				modelVersion: 2,
				n: 4,
				loss: 1.5,
				regression: { values: 4, absErrorSum: 2, squaredErrorSum: 3 }
			});
			await store.evaluations.put({ ...report('z', 'r9', 1, 1), projectId: 'p2' });

			const round1 = await store.evaluations.listByRound('r1');
			expect(round1.map((e) => [e.deviceId, e.classification?.correct])).toEqual([
				['a', 9],
				['b', 5]
			]);
			expect(await store.evaluations.get('r1', 'a')).toEqual(round1[0]);
			expect(await store.evaluations.get('r1', 'nope')).toBeNull();
			expect((await store.evaluations.listByProject('p1')).map((e) => `${e.roundNumber}/${e.deviceId}`)).toEqual(['1/a', '1/b', '2/a']);
			const [regression] = await store.evaluations.listByProject('p1', { roundNumber: 2 });
			expect(regression).toMatchObject({ regression: { values: 4, absErrorSum: 2, squaredErrorSum: 3 } });
			expect(regression).not.toHaveProperty('classification');
			// Racing re-sends of one report still leave one document.
			await Promise.all([3, 4, 5].map((c) => store.evaluations.put(report('c', 'r1', 1, c))));
			expect((await store.evaluations.listByRound('r1')).map((e) => e.deviceId)).toEqual(['a', 'b', 'c']);
		});

		it('reads documents written before local data existed with the new fields defaulted', async () => {
			await store.close();
			const raw = backend === 'mongodb' ? await openMongoBackend(mongodbUri!, dbName) : await openEmbeddedBackend(dataDir);
			type OldDoc = StoredDoc & Record<string, unknown>;
			const { dataSource: _d, task: _t, holdOutFraction: _h, updateEncoding: _e, secureAggregation: _s, ...oldConfig } = config;
			const at = '2024-06-01T00:00:00.000Z';
			await (await raw.collection<OldDoc>('projects')).insertOne({ ...oldConfig, _id: 'old', status: 'completed', modelVersion: 1, currentRound: 1, createdAt: at, updatedAt: at });
			await (await raw.collection<OldDoc>('devices')).insertOne({
				_id: 'old:d',
				deviceId: 'd',
				projectId: 'old',
				publicKey: 'k',
				kind: 'browser',
				online: false,
				backend: 'wasm',
				backendReason: null,
				samples: 600,
				shardIndex: 0,
				labelHistogram: null,
				trust: { accepted: 1, rejected: 0, meanDistance: 0, score: 0.6 },
				userAgent: '',
				registeredAt: at,
				lastSeen: at
			});
			await (await raw.collection<OldDoc>('rounds')).insertOne({
				_id: 'old-r1',
				projectId: 'old',
				number: 1,
				status: 'committed',
				baseModelVersion: 0,
				resultModelVersion: 1,
				selected: ['d'],
				accepted: ['d'],
				totalSamples: 600,
				deadline: at,
				metrics: { testAccuracy: 0.9, testLoss: 0.3, trainLoss: 0.4, trainAccuracy: 0.88 },
				privacy: null,
				failureReason: null,
				startedAt: at,
				updatedAt: at,
				endedAt: at
			});
			// A model written before federated evaluation and the membership audit existed.
			await (await raw.collection<OldDoc>('models')).insertOne({
				_id: 'old-m0',
				projectId: 'old',
				version: 0,
				roundNumber: null,
				parameterCount: 1,
				sha256: 'x',
				testAccuracy: null,
				testLoss: null,
				createdAt: at,
				blob: 'models/old-m0.f32'
			});
			await raw.close();
			store = await open();
			expect(await store.models.get('old', 0)).toMatchObject({ id: 'old-m0', federatedEvaluation: null, membershipAudit: null });
			await store.models.saveModel({ projectId: 'old', version: 1, roundNumber: 1 }, Float32Array.from([1]));
			expect(await store.projects.get('old')).toMatchObject({
				dataSource: 'demo',
				task: null,
				holdOutFraction: PROJECT_DEFAULTS.holdOutFraction,
				standardization: null,
				updateEncoding: { kind: 'f32' },
				secureAggregation: null
			});
			expect(await store.devices.get('old', 'd')).toMatchObject({
				samples: 600,
				featureStats: null,
				lastEvaluation: null,
				keyCreatedAt: at,
				revokedAt: null,
				joinTokenId: null
			});
			expect(await store.devices.accessTokenHash('old', 'd')).toBeNull();
			expect((await store.projects.get('old'))?.organisationId).toBe('');
			// The port cannot match a missing field; assignOrphans still finds the old project.
			expect(await store.projects.assignOrphans('o1')).toBe(1);
			expect((await store.projects.list({ organisationIds: ['o1'] })).map((p) => p.id)).toEqual(['old']);
			expect(await store.rounds.get('old-r1')).toMatchObject({ status: 'committed', federatedEvaluation: null });
		});
	});

	describe('access: users, organisations, memberships', () => {
		it('creates users with a unique, lower-cased e-mail and never returns the password hash', async () => {
			const ada = await store.users.create({ email: 'Ada@Example.org', name: 'Ada', passwordHash: 'scrypt$ada' });
			expect(ada).toEqual({ id: expect.any(String), email: 'ada@example.org', name: 'Ada', createdAt: expect.any(String) });
			await expect(store.users.create({ email: 'ada@example.org', name: 'Other', passwordHash: 'x' })).rejects.toBeInstanceOf(DuplicateKeyError);
			await expect(store.users.create({ email: ' ADA@example.org', name: 'Other', passwordHash: 'x' })).rejects.toBeInstanceOf(DuplicateKeyError);
			const bob = await store.users.create({ email: 'bob@example.org', name: 'Bob', passwordHash: 'scrypt$bob' });
			expect(await store.users.count()).toBe(2);
			expect(await store.users.get(ada.id)).toEqual(ada);
			expect(await store.users.get('nope')).toBeNull();
			expect(await store.users.getByEmail('ADA@example.org')).toEqual(ada);
			expect(await store.users.getByEmail('nobody@example.org')).toBeNull();
			expect(await store.users.passwordHash(ada.id)).toBe('scrypt$ada');
			expect(await store.users.passwordHash('nope')).toBeNull();
			await store.users.setPasswordHash(ada.id, 'scrypt$new');
			expect(await store.users.passwordHash(ada.id)).toBe('scrypt$new');
			expect(await store.users.passwordHash(bob.id)).toBe('scrypt$bob');
			expect(await store.users.list([bob.id, 'nope', ada.id])).toEqual([ada, bob]);
			expect(await store.users.list([])).toEqual([]);
			for (const u of [...(await store.users.list([ada.id, bob.id])), await store.users.getByEmail('bob@example.org')]) {
				expect(u).not.toHaveProperty('passwordHash');
			}
		});

		it('creates a user with an id chosen by the caller (named before the user exists, e.g. by an invitation)', async () => {
			const id = '0b6f3c1e-4a3d-4f7e-9a52-1d2c3b4a5f60';
			const cleo = await store.users.create({ id, email: 'cleo@example.org', name: 'Cleo', passwordHash: 'x' });
			expect(cleo.id).toBe(id);
			expect(await store.users.getByEmail('cleo@example.org')).toEqual(cleo);
		});

		it('creates, gets and lists organisations by name', async () => {
			const zeta = await store.organisations.create('Zeta lab');
			const alpha = await store.organisations.create('Alpha lab');
			expect(zeta).toEqual({ id: expect.any(String), name: 'Zeta lab', createdAt: expect.any(String) });
			expect(await store.organisations.get(zeta.id)).toEqual(zeta);
			expect(await store.organisations.get('nope')).toBeNull();
			expect(await store.organisations.list([zeta.id, alpha.id, 'nope'])).toEqual([alpha, zeta]);
			expect(await store.organisations.list([])).toEqual([]);
		});

		it('keeps one membership per (organisation, user): add replaces the role, setRole and remove', async () => {
			const first = await store.memberships.add({ organisationId: 'o1', userId: 'u1', role: 'owner' });
			expect(first).toEqual({ organisationId: 'o1', userId: 'u1', role: 'owner', addedAt: expect.any(String) });
			const replaced = await store.memberships.add({ organisationId: 'o1', userId: 'u1', role: 'viewer' });
			expect(replaced).toEqual({ ...first, role: 'viewer' });
			await store.memberships.add({ organisationId: 'o1', userId: 'u2', role: 'admin' });
			await store.memberships.add({ organisationId: 'o2', userId: 'u1', role: 'researcher' });
			expect(await store.memberships.get('o1', 'u1')).toEqual(replaced);
			expect(await store.memberships.get('o2', 'u2')).toBeNull();
			expect((await store.memberships.listByOrganisation('o1')).map((m) => `${m.userId}:${m.role}`)).toEqual(['u1:viewer', 'u2:admin']);
			expect((await store.memberships.listByUser('u1')).map((m) => `${m.organisationId}:${m.role}`)).toEqual(['o1:viewer', 'o2:researcher']);

			expect(await store.memberships.setRole('o1', 'u2', 'researcher')).toMatchObject({ organisationId: 'o1', userId: 'u2', role: 'researcher' });
			expect(await store.memberships.setRole('o1', 'nobody', 'owner')).toBeNull();
			expect(await store.memberships.get('o1', 'nobody')).toBeNull();
			expect(await store.memberships.remove('o1', 'u2')).toBe(true);
			expect(await store.memberships.remove('o1', 'u2')).toBe(false);
			expect((await store.memberships.listByOrganisation('o1')).map((m) => m.userId)).toEqual(['u1']);
			expect((await store.memberships.listByUser('u1')).length).toBe(2);

			// Racing adds of one pair still leave one membership.
			await Promise.all((['viewer', 'admin', 'researcher'] as const).map((role) => store.memberships.add({ organisationId: 'o3', userId: 'u9', role })));
			expect((await store.memberships.listByOrganisation('o3')).length).toBe(1);
		});
	});

	describe('access: sessions and API keys', () => {
		const newSession = (userId: string, tokenHash: string, expiresAt = '2025-01-08T00:00:00.000Z') => ({
			userId,
			tokenHash,
			expiresAt,
			address: '127.0.0.1',
			userAgent: 'vitest'
		});

		it('finds a session by its token hash only, touches, and never returns the hash', async () => {
			const s = await store.sessions.create(newSession('u1', 'h1'));
			expect(s).toEqual({
				id: expect.any(String),
				userId: 'u1',
				createdAt: expect.any(String),
				expiresAt: '2025-01-08T00:00:00.000Z',
				lastSeenAt: s.createdAt,
				address: '127.0.0.1',
				userAgent: 'vitest'
			});
			expect(s).not.toHaveProperty('tokenHash');
			await expect(store.sessions.create(newSession('u2', 'h1'))).rejects.toBeInstanceOf(DuplicateKeyError);
			expect(await store.sessions.getByHash('h1')).toEqual(s);
			expect(await store.sessions.getByHash('h2')).toBeNull();
			await store.sessions.touch(s.id, '2025-01-02T00:00:00.000Z');
			expect(await store.sessions.getByHash('h1')).toEqual({ ...s, lastSeenAt: '2025-01-02T00:00:00.000Z' });
			// An expired session is still returned: the caller decides.
			await store.sessions.create(newSession('u1', 'old', '2000-01-01T00:00:00.000Z'));
			expect((await store.sessions.getByHash('old'))?.expiresAt).toBe('2000-01-01T00:00:00.000Z');
			await store.sessions.delete(s.id);
			expect(await store.sessions.getByHash('h1')).toBeNull();
			await store.sessions.delete(s.id);
		});

		it('deletes all sessions of a user, optionally except one', async () => {
			const keep = await store.sessions.create(newSession('u1', 'a'));
			await store.sessions.create(newSession('u1', 'b'));
			await store.sessions.create(newSession('u1', 'c'));
			await store.sessions.create(newSession('u2', 'd'));
			expect(await store.sessions.deleteByUser('u1', { except: keep.id })).toBe(2);
			expect(await store.sessions.getByHash('a')).toEqual(keep);
			expect(await store.sessions.getByHash('b')).toBeNull();
			expect(await store.sessions.getByHash('d')).not.toBeNull();
			expect(await store.sessions.deleteByUser('u1')).toBe(1);
			expect(await store.sessions.getByHash('a')).toBeNull();
			expect(await store.sessions.deleteByUser('u1')).toBe(0);
			expect(await store.sessions.getByHash('d')).not.toBeNull();
		});

		const newKey = (id: string, organisationId: string, userId: string) => ({
			id,
			organisationId,
			userId,
			name: `key ${id}`,
			scope: 'read' as const,
			prefix: `qfk_${id}`,
			expiresAt: null,
			secretHash: `hash-${id}`
		});

		it('stores API keys with their hash, hands the hash out only through getWithHash, lists newest first', async () => {
			const k1 = await store.apiKeys.create(newKey('k1', 'o1', 'u1'));
			expect(k1).toEqual({
				id: 'k1',
				organisationId: 'o1',
				userId: 'u1',
				name: 'key k1',
				scope: 'read',
				prefix: 'qfk_k1',
				createdAt: expect.any(String),
				expiresAt: null,
				lastUsedAt: null,
				revokedAt: null
			});
			await expect(store.apiKeys.create(newKey('k1', 'o1', 'u1'))).rejects.toBeInstanceOf(DuplicateKeyError);
			await store.apiKeys.create({ ...newKey('k2', 'o1', 'u2'), scope: 'admin', expiresAt: '2026-01-01T00:00:00.000Z' });
			await store.apiKeys.create(newKey('k3', 'o1', 'u1'));
			await store.apiKeys.create(newKey('k4', 'o2', 'u1'));
			expect(await store.apiKeys.get('k1')).toEqual(k1);
			expect(await store.apiKeys.get('nope')).toBeNull();
			expect(await store.apiKeys.getWithHash('k1')).toEqual({ ...k1, secretHash: 'hash-k1' });
			expect(await store.apiKeys.getWithHash('nope')).toBeNull();

			const listed = await store.apiKeys.listByOrganisation('o1');
			expect(listed.map((k) => k.id)).toEqual(['k3', 'k2', 'k1']);
			expect((await store.apiKeys.listByOrganisation('o1', { userId: 'u1' })).map((k) => k.id)).toEqual(['k3', 'k1']);
			expect((await store.apiKeys.listByOrganisation('o2', { userId: 'u2' })).map((k) => k.id)).toEqual([]);
			for (const k of [...listed, await store.apiKeys.get('k2')]) expect(k).not.toHaveProperty('secretHash');
		});

		it('touches and revokes API keys; a second revoke keeps the first time', async () => {
			await store.apiKeys.create(newKey('k1', 'o1', 'u1'));
			await store.apiKeys.touch('k1', '2025-02-01T00:00:00.000Z');
			expect(await store.apiKeys.get('k1')).toMatchObject({ lastUsedAt: '2025-02-01T00:00:00.000Z', revokedAt: null });
			const revoked = await store.apiKeys.revoke('k1', '2025-03-01T00:00:00.000Z');
			expect(revoked).toMatchObject({ id: 'k1', revokedAt: '2025-03-01T00:00:00.000Z', lastUsedAt: '2025-02-01T00:00:00.000Z' });
			expect(revoked).not.toHaveProperty('secretHash');
			expect(await store.apiKeys.revoke('k1', '2025-04-01T00:00:00.000Z')).toMatchObject({ revokedAt: '2025-03-01T00:00:00.000Z' });
			expect((await store.apiKeys.getWithHash('k1'))?.revokedAt).toBe('2025-03-01T00:00:00.000Z');
			expect(await store.apiKeys.revoke('nope', '2025-03-01T00:00:00.000Z')).toBeNull();
			// Revoked keys stay listed, so the dashboard can show them.
			expect((await store.apiKeys.listByOrganisation('o1')).map((k) => k.revokedAt)).toEqual(['2025-03-01T00:00:00.000Z']);
		});
	});

	describe('access: invitations and join tokens', () => {
		const newInvitation = (tokenHash: string, expiresAt = '2025-01-04T00:00:00.000Z') => ({
			organisationId: 'o1',
			role: 'researcher' as const,
			email: null,
			tokenHash,
			createdBy: 'u1',
			expiresAt
		});
		const before = '2025-01-02T00:00:00.000Z';

		it('creates invitations, finds them by hash, lists newest first, and never returns the hash', async () => {
			const a = await store.invitations.create(newInvitation('ha'));
			expect(a).toEqual({
				id: expect.any(String),
				organisationId: 'o1',
				role: 'researcher',
				email: null,
				createdBy: 'u1',
				createdAt: expect.any(String),
				expiresAt: '2025-01-04T00:00:00.000Z',
				acceptedBy: null,
				acceptedAt: null,
				revokedAt: null
			});
			await expect(store.invitations.create(newInvitation('ha'))).rejects.toBeInstanceOf(DuplicateKeyError);
			const b = await store.invitations.create({ ...newInvitation('hb'), email: 'x@example.org', role: 'owner' });
			await store.invitations.create({ ...newInvitation('hc'), organisationId: 'o2' });
			expect(await store.invitations.getByHash('ha')).toEqual(a);
			expect(await store.invitations.getByHash('nope')).toBeNull();
			expect(await store.invitations.get(b.id)).toEqual(b);
			expect(await store.invitations.get('nope')).toBeNull();
			const listed = await store.invitations.listByOrganisation('o1');
			expect(listed.map((i) => i.id)).toEqual([b.id, a.id]);
			for (const i of listed) expect(Object.keys(i).sort()).toEqual(Object.keys(a).sort());
		});

		it('accepts an invitation exactly once, even when two accepts race', async () => {
			const inv = await store.invitations.create(newInvitation('h'));
			const results = await Promise.all([store.invitations.accept(inv.id, 'u2', before), store.invitations.accept(inv.id, 'u3', before)]);
			const winners = results.filter((r) => r !== null);
			if (winners.length > 1 && ferretdbDiffers(backend, `guarded accept raced: ${winners.length} of 2 won`)) {
				expect(winners.length).toBe(2);
			} else {
				expect(winners.length).toBe(1);
				expect(await store.invitations.get(inv.id)).toEqual(winners[0]);
			}
			expect(winners[0]).toMatchObject({ acceptedBy: expect.stringMatching(/^u[23]$/), acceptedAt: before });
			expect(await store.invitations.accept(inv.id, 'u4', before)).toBeNull();
			expect(await store.invitations.accept('nope', 'u4', before)).toBeNull();
		});

		it('refuses to accept a revoked or expired invitation', async () => {
			const revokedOne = await store.invitations.create(newInvitation('r'));
			const revoked = await store.invitations.revoke(revokedOne.id, '2025-01-01T12:00:00.000Z');
			expect(revoked).toMatchObject({ revokedAt: '2025-01-01T12:00:00.000Z', acceptedBy: null });
			expect(await store.invitations.revoke(revokedOne.id, '2025-01-03T00:00:00.000Z')).toMatchObject({ revokedAt: '2025-01-01T12:00:00.000Z' });
			expect(await store.invitations.revoke('nope', before)).toBeNull();
			expect(await store.invitations.accept(revokedOne.id, 'u2', before)).toBeNull();
			expect((await store.invitations.get(revokedOne.id))?.acceptedBy).toBeNull();

			const expiring = await store.invitations.create(newInvitation('e', '2025-01-03T00:00:00.000Z'));
			expect(await store.invitations.accept(expiring.id, 'u2', '2025-01-03T00:00:00.000Z')).toBeNull();
			expect(await store.invitations.accept(expiring.id, 'u2', '2025-01-02T23:59:59.999Z')).toMatchObject({ acceptedBy: 'u2' });
		});

		const newToken = (tokenHash: string, maxDevices: number | null, expiresAt: string | null = null, projectId = 'p1') => ({
			projectId,
			label: `label ${tokenHash}`,
			prefix: `qjt_${tokenHash}`,
			tokenHash,
			createdBy: 'u1',
			expiresAt,
			maxDevices
		});

		it('creates join tokens, finds them by hash and project, lists newest first, and returns no internals', async () => {
			const t = await store.joinTokens.create(newToken('t1', 3));
			expect(t).toEqual({
				id: expect.any(String),
				projectId: 'p1',
				label: 'label t1',
				prefix: 'qjt_t1',
				createdBy: 'u1',
				createdAt: expect.any(String),
				expiresAt: null,
				maxDevices: 3,
				devicesJoined: 0,
				revokedAt: null
			});
			await expect(store.joinTokens.create(newToken('t1', null))).rejects.toBeInstanceOf(DuplicateKeyError);
			const t2 = await store.joinTokens.create(newToken('t2', null, '2025-06-01T00:00:00.000Z'));
			await store.joinTokens.create(newToken('t3', null, null, 'p2'));
			expect(await store.joinTokens.getByHash('t1')).toEqual(t);
			expect(await store.joinTokens.getByHash('nope')).toBeNull();
			expect(await store.joinTokens.get('p1', t2.id)).toEqual(t2);
			expect(await store.joinTokens.get('p2', t2.id)).toBeNull();
			const listed = await store.joinTokens.listByProject('p1');
			expect(listed.map((r) => r.id)).toEqual([t2.id, t.id]);
			for (const r of listed) expect(Object.keys(r).sort()).toEqual(Object.keys(t).sort());
		});

		it('lets exactly maxDevices claims through, one at a time or racing', async () => {
			const serial = await store.joinTokens.create(newToken('s', 3));
			const counts = [];
			for (let i = 0; i < 4; i++) counts.push((await store.joinTokens.claimDevice(serial.id, before))?.devicesJoined ?? null);
			expect(counts).toEqual([1, 2, 3, null]);
			expect(await store.joinTokens.claimDevice('nope', before)).toBeNull();

			const t = await store.joinTokens.create(newToken('t', 3));
			const claims = await Promise.all(Array.from({ length: 10 }, () => store.joinTokens.claimDevice(t.id, before)));
			const granted = claims.filter((c) => c !== null).map((c) => c?.devicesJoined);
			const stored = (await store.joinTokens.get('p1', t.id))?.devicesJoined;
			const next = await store.joinTokens.claimDevice(t.id, before);
			const exact = granted.length === 3 && stored === 3 && next === null;
			if (!exact && ferretdbDiffers(backend, `racing claims with maxDevices 3: ${granted.length} of 10 won, ${stored} counted (lost updates)`)) {
				expect(granted.length).toBeGreaterThan(0);
			} else {
				expect(granted.sort()).toEqual([1, 2, 3]);
				expect(stored).toBe(3);
				expect(next).toBeNull();
			}

			const unlimited = await store.joinTokens.create(newToken('u', null));
			for (let i = 1; i <= 5; i++) expect((await store.joinTokens.claimDevice(unlimited.id, before))?.devicesJoined).toBe(i);
		});

		it('refuses claims on an expired or revoked token', async () => {
			const t = await store.joinTokens.create(newToken('t', null, '2025-01-03T00:00:00.000Z'));
			expect(await store.joinTokens.claimDevice(t.id, '2025-01-02T23:59:59.999Z')).toMatchObject({ devicesJoined: 1 });
			expect(await store.joinTokens.claimDevice(t.id, '2025-01-03T00:00:00.000Z')).toBeNull();
			expect((await store.joinTokens.get('p1', t.id))?.devicesJoined).toBe(1);

			const r = await store.joinTokens.create(newToken('r', 5));
			expect(await store.joinTokens.revoke('p2', r.id, before)).toBeNull();
			expect(await store.joinTokens.claimDevice(r.id, before)).toMatchObject({ devicesJoined: 1 });
			expect(await store.joinTokens.revoke('p1', r.id, '2025-01-02T01:00:00.000Z')).toMatchObject({ revokedAt: '2025-01-02T01:00:00.000Z' });
			expect(await store.joinTokens.revoke('p1', r.id, '2025-01-02T02:00:00.000Z')).toMatchObject({ revokedAt: '2025-01-02T01:00:00.000Z' });
			expect(await store.joinTokens.claimDevice(r.id, before)).toBeNull();
			expect(await store.joinTokens.getByHash('r')).toMatchObject({ devicesJoined: 1, revokedAt: '2025-01-02T01:00:00.000Z' });
		});
	});

	describe('access: audit log', () => {
		const entry = (organisationId: string | null, action: string, details: Record<string, string | number | boolean | null> = {}) => ({
			organisationId,
			actor: { type: 'user' as const, id: 'u1', label: 'ada@example.org' },
			action,
			target: { type: 'project', id: 'p1' },
			address: '127.0.0.1',
			details
		});

		it('appends entries and lists them newest first, by organisation and action', async () => {
			const first = await store.audit.append(entry('o1', 'project.created', { 'name.with.dots': 'x', $n: 3, flag: true, none: null }));
			expect(first).toEqual({ ...entry('o1', 'project.created', { 'name.with.dots': 'x', $n: 3, flag: true, none: null }), id: expect.any(String), at: expect.any(String) });
			await store.audit.append(entry('o1', 'project.started'));
			await store.audit.append(entry('o2', 'project.created'));
			await store.audit.append({ ...entry(null, 'owner.passwordReset'), actor: { type: 'system', id: 'cli', label: 'cli' }, at: '2030-01-01T00:00:00.000Z' });
			await store.audit.append(entry('o1', 'project.stopped'));
			expect((await store.audit.list('o1')).map((e) => e.action)).toEqual(['project.stopped', 'project.started', 'project.created']);
			expect((await store.audit.list('o1', { limit: 2 })).map((e) => e.action)).toEqual(['project.stopped', 'project.started']);
			expect(await store.audit.list('o1', { action: 'project.created' })).toEqual([first]);
			expect(await store.audit.list(null)).toEqual([expect.objectContaining({ action: 'owner.passwordReset', at: '2030-01-01T00:00:00.000Z' })]);
		});

		it('keeps the append order of entries written within one millisecond', async () => {
			await store.close();
			store = await open(() => new Date('2025-01-01T00:00:00.000Z'));
			for (let i = 0; i < 20; i++) await store.audit.append(entry('o1', `a${i}`));
			expect((await store.audit.list('o1')).map((e) => e.action)).toEqual(Array.from({ length: 20 }, (_, i) => `a${19 - i}`));
		});

		it('offers no way to change or remove an entry', () => {
			expect(Object.keys(store.audit).sort()).toEqual(['append', 'list']);
			expect(Object.isFrozen(store.audit)).toBe(true);
		});
	});

	describe('access: projects in organisations and device credentials', () => {
		it('filters projects by organisation and gives orphans to an organisation', async () => {
			const a = await store.projects.create(config, { organisationId: 'o1' });
			const b = await store.projects.create(config, { organisationId: 'o2' });
			const orphan = await store.projects.create(config, { organisationId: '' });
			expect(a.organisationId).toBe('o1');
			expect(await store.projects.get(a.id)).toEqual(a);
			expect((await store.projects.list({ organisationIds: ['o1'] })).map((p) => p.id)).toEqual([a.id]);
			expect((await store.projects.list({ organisationIds: ['o2', 'o1'] })).map((p) => p.id)).toEqual([b.id, a.id]);
			expect(await store.projects.list({ organisationIds: [] })).toEqual([]);
			expect((await store.projects.list()).map((p) => p.id)).toEqual([orphan.id, b.id, a.id]);
			await store.projects.update(a.id, { status: 'running' });
			expect((await store.projects.list({ organisationIds: ['o1', 'o2'], status: 'running' })).map((p) => p.id)).toEqual([a.id]);

			expect(await store.projects.assignOrphans('o2')).toBe(1);
			expect(await store.projects.assignOrphans('o2')).toBe(0);
			expect((await store.projects.list({ organisationIds: ['o2'] })).map((p) => p.id)).toEqual([orphan.id, b.id]);
			expect((await store.projects.get(a.id))?.organisationId).toBe('o1');
		});

		it('defaults key age, revocation and join token on devices and keeps the access token hash out of Device', async () => {
			const base = { projectId: 'p1', publicKey: 'pk', kind: 'browser' as const };
			const d = await store.devices.upsert({ ...base, id: 'd1' });
			expect(d).toMatchObject({ keyCreatedAt: d.registeredAt, revokedAt: null, joinTokenId: null });
			const joined = await store.devices.upsert({ ...base, id: 'd2', joinTokenId: 'jt1' });
			expect(joined.joinTokenId).toBe('jt1');

			expect(await store.devices.accessTokenHash('p1', 'd1')).toBeNull();
			await store.devices.setAccessTokenHash('p1', 'd1', 'sha-1');
			await store.devices.setAccessTokenHash('p1', 'd1', 'sha-2');
			expect(await store.devices.accessTokenHash('p1', 'd1')).toBe('sha-2');
			expect(await store.devices.accessTokenHash('p1', 'd2')).toBeNull();
			expect(await store.devices.accessTokenHash('p2', 'd1')).toBeNull();
			await store.devices.setAccessTokenHash('p1', 'missing', 'sha');
			expect(await store.devices.get('p1', 'missing')).toBeNull();

			const rotated = await store.devices.update('p1', 'd1', { publicKey: 'pk2', keyCreatedAt: '2025-05-01T00:00:00.000Z' });
			expect(rotated).toMatchObject({ publicKey: 'pk2', keyCreatedAt: '2025-05-01T00:00:00.000Z', registeredAt: d.registeredAt });
			const revoked = await store.devices.update('p1', 'd1', { revokedAt: '2025-05-02T00:00:00.000Z' });
			expect(revoked?.revokedAt).toBe('2025-05-02T00:00:00.000Z');
			// A later re-registration upsert that names neither field leaves them alone.
			expect(await store.devices.upsert({ ...base, id: 'd1', publicKey: 'pk2' })).toMatchObject({ revokedAt: '2025-05-02T00:00:00.000Z', joinTokenId: null });

			const seen = [
				await store.devices.get('p1', 'd1'),
				await store.devices.setOnline('p1', 'd1', true),
				await store.devices.update('p1', 'd1', { samples: 5 }),
				await store.devices.upsert({ ...base, id: 'd1', publicKey: 'pk2' }),
				...(await store.devices.listByProject('p1'))
			];
			for (const device of seen) expect(device).not.toHaveProperty('accessTokenHash');
			expect(await store.devices.accessTokenHash('p1', 'd1')).toBe('sha-2');
		});
	});

	if (backend === 'embedded') {
		it('keeps everything across close and reopen, indexes included', async () => {
			const p = await store.projects.create(config, org);
			await store.devices.upsert({ projectId: p.id, id: 'd', publicKey: 'k', kind: 'node', online: true });
			const r = await store.rounds.create({ projectId: p.id, number: 1, baseModelVersion: 0, deadline: 'x' });
			await store.rounds.transition(r.id, 'open', 'training');
			const w = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
			await store.models.saveModel({ projectId: p.id, version: 0, roundNumber: null }, w);
			await store.events.append({ projectId: p.id, type: 't', message: 'before restart' });
			await store.close();

			store = await open();
			expect(await store.projects.get(p.id)).toEqual(p);
			expect(await store.rounds.current(p.id)).toMatchObject({ id: r.id, status: 'training' });
			expect(await store.devices.markAllOffline()).toBe(1);
			expect(Array.from((await store.models.loadWeights(p.id, 0))!)).toEqual(Array.from(w));
			expect((await store.events.listRecent(p.id))[0]?.message).toBe('before restart');
			await expect(store.rounds.create({ projectId: p.id, number: 1, baseModelVersion: 0, deadline: 'x' })).rejects.toBeInstanceOf(
				DuplicateKeyError
			);
		});
	}

	if (backend === 'mongodb') {
		it('names the server and where it differs from MongoDB', async () => {
			const info = await admin!.db(dbName).command({ buildInfo: 1 });
			console.log(`store contract: mongodb server = ${ferretdb ? `FerretDB ${ferretdb} (MongoDB ${info.version} wire protocol)` : `MongoDB ${info.version}`}`);
			// The store uses no transactions; this only records whether the server has them.
			const session = admin!.startSession();
			let transactions = 'supported';
			try {
				await session.withTransaction(async () => {
					await admin!.db(dbName).collection('tx_probe').insertOne({ _id: 'x' } as never, { session });
				});
			} catch (err) {
				transactions = `unsupported (${(err as Error).message.split('\n')[0]})`;
			} finally {
				await session.endSession();
			}
			console.log(`store contract: server transactions: ${transactions}; the store does not use them`);
			expect(info.version).toEqual(expect.any(String));
		});
	}

	describe('collection port', () => {
		interface Doc {
			_id: string;
			n: number;
			tags: string[];
			s: string | null;
		}
		let raw: Backend;
		let col: CollectionPort<Doc>;
		beforeEach(async () => {
			raw = backend === 'mongodb' ? await openMongoBackend(mongodbUri!, dbName) : await openEmbeddedBackend(dataDir);
			col = await raw.collection<Doc>('port_test');
			for (let i = 0; i < 6; i++) await col.insertOne({ _id: `d${i}`, n: i, tags: i % 2 ? ['x', 'y'] : ['y'], s: i === 5 ? null : `s${i}` });
		});
		afterEach(async () => {
			await raw.close();
		});
		const ids = (docs: Array<{ _id: string }>) => docs.map((d) => d._id);

		it('filters with the documented operator subset, MongoDB semantics on arrays', async () => {
			expect(ids(await col.find({ n: { $gte: 2, $lt: 4 } }, { sort: { n: 1 } }))).toEqual(['d2', 'd3']);
			expect(ids(await col.find({ n: { $in: [1, 5] } }, { sort: { n: 1 } }))).toEqual(['d1', 'd5']);
			expect(ids(await col.find({ n: { $nin: [0, 1, 2, 3] } }, { sort: { n: 1 } }))).toEqual(['d4', 'd5']);
			expect(ids(await col.find({ n: { $gt: 0, $ne: 3 } }, { sort: { n: -1 }, limit: 2 }))).toEqual(['d5', 'd4']);
			// On an array field, equality means "contains" and $ne means "contains no such element".
			expect(ids(await col.find({ tags: 'x' }, { sort: { n: 1 } }))).toEqual(['d1', 'd3', 'd5']);
			expect(ids(await col.find({ tags: { $ne: 'x' } }, { sort: { n: 1 } }))).toEqual(['d0', 'd2', 'd4']);
			expect(ids(await col.find({ tags: { $nin: ['x'] } }, { sort: { n: 1 } }))).toEqual(['d0', 'd2', 'd4']);
			expect(ids(await col.find({ s: null }))).toEqual(['d5']);
			expect(await col.countDocuments({ n: { $lte: 2 } })).toBe(3);
			expect(ids(await col.find({}, { sort: { n: 1 }, skip: 4 }))).toEqual(['d4', 'd5']);
			expect(await col.find({}, { sort: { n: 1 }, limit: 1, projection: { n: 1 } })).toEqual([{ _id: 'd0', n: 0 }]);
		});

		it('updates with $set/$inc/$push/$addToSet, upserts with $setOnInsert, and enforces unique indexes', async () => {
			const after = await col.findOneAndUpdate({ _id: 'd0' }, { $inc: { n: 10 }, $push: { tags: { $each: ['a', 'b'] } }, $set: { s: 'z' } });
			expect(after).toEqual({ _id: 'd0', n: 10, tags: ['y', 'a', 'b'], s: 'z' });
			expect(await col.findOneAndUpdate({ _id: 'd0' }, { $addToSet: { tags: 'a' } })).toMatchObject({ tags: ['y', 'a', 'b'] });
			expect(await col.findOneAndUpdate({ _id: 'nope' }, { $set: { n: 1 } })).toBeNull();

			const up = await col.updateOne({ _id: 'new' }, { $set: { n: 7 }, $setOnInsert: { tags: [], s: 'ins' } }, { upsert: true });
			expect(up).toEqual({ matchedCount: 0, upsertedId: 'new' });
			const again = await col.updateOne({ _id: 'new' }, { $set: { n: 8 }, $setOnInsert: { s: 'ignored' } }, { upsert: true });
			expect(again).toEqual({ matchedCount: 1, upsertedId: null });
			const inserted = await col.findOne({ _id: 'new' });
			if (inserted && !('tags' in inserted) && ferretdbDiffers(backend, '$setOnInsert drops null and [] values (the store avoids that pattern)')) {
				expect(inserted).toEqual({ _id: 'new', n: 8, s: 'ins' });
			} else {
				expect(inserted).toEqual({ _id: 'new', n: 8, tags: [], s: 'ins' });
			}
			await expect(col.updateOne({ n: 1 }, { $set: { n: 2 } }, { upsert: true })).rejects.toThrow(/string _id/);

			expect(await col.updateMany({ n: { $lt: 4 } }, { $inc: { n: 100 } })).toEqual({ matchedCount: 3, upsertedId: null });
			expect(await col.deleteMany({ n: { $gte: 100 } })).toBe(3);

			await col.createIndex({ n: 1, s: 1 }, { unique: true });
			await col.insertOne({ _id: 'u1', n: 50, tags: [], s: 'a' });
			await col.insertOne({ _id: 'u2', n: 50, tags: [], s: 'b' });
			await expect(col.insertOne({ _id: 'u3', n: 50, tags: [], s: 'a' })).rejects.toBeInstanceOf(DuplicateKeyError);
			await expect(col.insertOne({ _id: 'u1', n: 51, tags: [], s: 'a' })).rejects.toBeInstanceOf(DuplicateKeyError);
			const clash: unknown = await col.updateOne({ _id: 'u2' }, { $set: { s: 'a' } }).then(
				() => null,
				(err: unknown) => err
			);
			if (!(clash instanceof DuplicateKeyError) && ferretdbDiffers(backend, 'a unique-index clash in an update is InternalError (code 1), not E11000')) {
				expect(String(clash)).toMatch(/UNIQUE constraint failed/);
			} else {
				expect(clash).toBeInstanceOf(DuplicateKeyError);
			}
		});

		it('stores blobs whole and replaces them', async () => {
			expect(await raw.blobs.get('a/b.bin')).toBeNull();
			await raw.blobs.put('a/b.bin', Uint8Array.from([1, 2, 3]));
			await raw.blobs.put('a/b.bin', Uint8Array.from([4, 5]));
			expect(Array.from((await raw.blobs.get('a/b.bin'))!)).toEqual([4, 5]);
			await raw.blobs.delete('a/b.bin');
			await raw.blobs.delete('a/b.bin');
			expect(await raw.blobs.get('a/b.bin')).toBeNull();
			await expect(raw.blobs.put('../escape', new Uint8Array(1))).rejects.toThrow(/invalid blob name/);
		});
	});
});
