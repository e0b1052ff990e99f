import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startNodeParticipant, type NodeParticipant } from '@qflare/participant-node';
import type { Round } from '@qflare/protocol';
import { ApiClient, committed } from './support/api-client';
import { startRedisServer, type RedisServer } from '../apps/server/src/test-support/redis-server';
import { scratchDirs } from './support/scratch-dirs';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

/**
 * Several server instances sharing one MongoDB-compatible store (FerretDB in CI) and one Redis
 * (contract: hierarchical aggregation, leader lease). Part A trains round 1 on one instance with
 * the embedded store as the reference; part B runs the same project with the same devices (same
 * keys, same shards) on three instances and expects the same model v1, then SIGKILLs the round
 * leader in round 2 and expects another instance to finish the round.
 */

const PARTICIPANTS = 30;
const INSTANCES = 3;
const TOLERANCE = 1e-5;

/**
 * Project P of both parts. fraction 1: every ready device trains every round, so both runs fold
 * the same 30 updates. Dirichlet shards of seed 7 hold 91 to 576 samples: the participants finish
 * a round one after another instead of all at once, which leaves time to see a round with a
 * few accepted updates and kill its leader. 8,000 samples a round in all, batch 10, one epoch.
 */
const PROJECT = {
	name: 'multi-instance',
	dataset: 'mnist',
	model: 'mlp',
	rounds: 2,
	minParticipants: 10,
	fraction: 1,
	shardCount: PARTICIPANTS,
	partition: 'dirichlet:0.5',
	seed: 7,
	localEpochs: 1,
	batchSize: 10,
	learningRate: 0.1,
	roundTimeoutSec: 300
};

/** GET /health of a cluster instance as the contract describes it (fields optional: older servers lack them). */
interface ClusterHealth {
	ok: boolean;
	instance: string;
	role: string;
	redis?: { configured: boolean; reachable?: boolean | null; latencyMs?: number | null };
	leads?: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function health(url: string): Promise<ClusterHealth> {
	const res = await fetch(`${url}/health`);
	return (await res.json()) as ClusterHealth;
}

/** MONGODB_URI with its database replaced by `db` (the store takes the database from the URI path). */
function withDatabase(uri: string, db: string): string {
	const m = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
	if (!m) throw new Error(`MONGODB_URI ${uri} is not a mongodb:// URI`);
	return `${m[1]}/${db}${m[2] ?? ''}`;
}

/** The raw little-endian float32 weights of a model version (the layers artifact's weights.bin). */
async function modelWeights(api: ApiClient, projectId: string, version: number): Promise<Float32Array> {
	const res = await api.request('GET', `/projects/${projectId}/models/${version}/weights.bin`);
	if (!res.ok) throw new Error(`weights of v${version}: HTTP ${res.status} ${await res.text()}`);
	return new Float32Array(await res.arrayBuffer());
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
	expect(a.length).toBe(b.length);
	let max = 0;
	for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
	return max;
}

/**
 * Starts the participants one after another, participant i on servers[i % servers.length]; each
 * next one starts only once the previous is registered with its shard loaded, so device i gets
 * shard i (a new device takes shard `registered devices % shardCount`) in every run.
 */
async function joinInOrder(api: ApiClient, servers: string[], projectId: string, joinToken: string, dirs: string[], into: NodeParticipant[]): Promise<void> {
	for (let i = 0; i < dirs.length; i++) {
		const participant = await startNodeParticipant({
			server: servers[i % servers.length],
			project: projectId,
			joinToken,
			dataDir: dirs[i],
			name: `p${i}`,
			reconnectionDelayMs: 250,
			reconnectionDelayMaxMs: 1_000
		});
		into.push(participant);
		const deadline = Date.now() + 60_000;
		for (;;) {
			const device = (await api.devices(projectId)).find((d) => d.id === participant.deviceId);
			if (device && device.samples > 0) {
				expect(device.shardIndex, `participant ${i}'s shard`).toBe(i);
				break;
			}
			if (Date.now() > deadline) throw new Error(`participant ${i} (${participant.deviceId}) did not register with a shard; phase ${participant.state().phase}`);
			await sleep(100);
		}
	}
}

/** Polls `api` until `done` holds, tolerating failed reads (a server may be going away). */
async function pollRounds(api: ApiClient, projectId: string, done: (rounds: Round[]) => boolean, timeoutMs: number, everyMs = 250): Promise<Round[]> {
	const deadline = Date.now() + timeoutMs;
	let rounds: Round[] = [];
	let lastError: unknown = null;
	while (Date.now() < deadline) {
		try {
			rounds = await api.rounds(projectId);
			lastError = null;
			if (done(rounds)) return rounds;
		} catch (e) {
			lastError = e;
		}
		await sleep(everyMs);
	}
	throw new Error(
		`timed out after ${timeoutMs} ms; rounds: ${JSON.stringify(rounds.map((r) => [r.number, r.status, r.accepted.length, r.failureReason]))}${lastError ? `; last error: ${String(lastError)}` : ''}`
	);
}

const roundMs = (r: Round): number => (r.endedAt ? Date.parse(r.endedAt) - Date.parse(r.startedAt) : NaN);

const scratch = scratchDirs();

test('three instances on one store and Redis: round 1 equals a single instance run; SIGKILL of the round leader, another instance commits the round', async () => {
	test.setTimeout(12 * 60_000);
	const mongoUri = process.env.MONGODB_URI ?? '';
	if (!mongoUri) {
		// CI starts FerretDB (.ci/ferretdb.sh) before `npm test`: there, a missing URI is a broken set-up, not a reason to skip.
		if (process.env.CI) throw new Error('MONGODB_URI is not set: CI should have started FerretDB (.ci/ferretdb.sh start) before the tests');
		test.skip(true, 'needs MONGODB_URI of a MongoDB-compatible server: eval "$(bash .ci/ferretdb.sh start)"');
		return;
	}
	// One database for the three instances of this run, none shared with another run.
	const database = `qflare_mi_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
	const clusterUri = withDatabase(mongoUri, database);

	const root = scratch('qflare-mi-');
	const dirs = Array.from({ length: PARTICIPANTS }, (_, i) => {
		const dir = path.join(root, `p${i}`);
		mkdirSync(dir, { recursive: true });
		return dir;
	});
	const participants: NodeParticipant[] = [];
	const stopParticipants = () => {
		for (const p of participants.splice(0)) p.stop();
	};

	// ---- Part A: the reference, one instance on the embedded store.
	let reference: { weights: Float32Array; roundMs: number; deviceIds: string[] };
	const single = new ServerProcess(await freePort(), freshDataDir());
	try {
		await single.start();
		const api = single.api();
		const project = await api.createProject(PROJECT);
		const joinToken = await api.joinToken(project.id);
		const t0 = Date.now();
		await joinInOrder(api, [single.url], project.id, joinToken, dirs, participants);
		console.log(`single: ${PARTICIPANTS} participants registered in ${seconds(Date.now() - t0)}`);
		await api.start(project.id);
		const rounds = await pollRounds(api, project.id, (r) => committed(r).length >= 1, 5 * 60_000);
		const round1 = rounds.find((r) => r.number === 1)!;
		expect(round1.status).toBe('committed');
		expect(round1.accepted).toHaveLength(PARTICIPANTS);
		reference = {
			weights: await modelWeights(api, project.id, 1),
			roundMs: roundMs(round1),
			deviceIds: participants.map((p) => p.deviceId)
		};
		console.log(`single: round 1 committed in ${seconds(reference.roundMs)}, ${round1.accepted.length} updates, ${round1.totalSamples} samples, ${reference.weights.length} weights`);
	} finally {
		stopParticipants();
		await single.stop();
	}

	// ---- Part B: three instances sharing the store and a Redis.
	let redis: RedisServer | null = null;
	const instances: ServerProcess[] = [];
	try {
		redis = await startRedisServer();
		const env = {
			MONGODB_URI: clusterUri,
			REDIS_URL: redis.url,
			QFLARE_LEASE_MS: '3000',
			QFLARE_DROPOUT_GRACE_MS: '5000'
		};
		console.log(`cluster: database ${database}, redis ${redis.url}`);
		for (let i = 0; i < INSTANCES; i++) {
			const instance = new ServerProcess(await freePort(), freshDataDir());
			instances.push(instance);
			// Only the first sets up the owner; the others share its store, so its API key works on them.
			await instance.start({ bootstrap: i === 0, env: { ...env, QFLARE_INSTANCE_ID: `mi-${i}` } });
		}
		const apis = instances.map((s) => new ApiClient(s.url, instances[0].credentials));
		for (const [i, s] of instances.entries()) {
			const h = await health(s.url);
			console.log(`cluster: instance ${i} at ${s.url}: ${JSON.stringify(h)}`);
			expect(h.ok, `instance ${i} healthy`).toBe(true);
			expect(h.role, `instance ${i} /health role (REDIS_URL set: cluster mode)`).toBe('cluster');
			expect(h.redis?.reachable, `instance ${i} reaches Redis`).toBe(true);
			expect(h.instance).toBe(`mi-${i}`);
		}
		// Same owner and key everywhere (one store).
		for (const api of apis) expect((await api.request('GET', '/projects')).status).toBe(200);

		const project = await apis[0].createProject(PROJECT);
		const joinToken = await apis[0].joinToken(project.id);
		const t0 = Date.now();
		await joinInOrder(apis[0], instances.map((s) => s.url), project.id, joinToken, dirs, participants);
		console.log(`cluster: ${PARTICIPANTS} participants registered in ${seconds(Date.now() - t0)} (participant i on instance i % ${INSTANCES})`);
		expect(participants.map((p) => p.deviceId), 'the same identities as in the single run').toEqual(reference.deviceIds);
		// Every instance sees every device (shared store), whichever instance it is connected to.
		for (const api of apis) expect((await api.devices(project.id)).filter((d) => d.samples > 0)).toHaveLength(PARTICIPANTS);

		await apis[1].start(project.id);
		const after1 = await pollRounds(apis[2], project.id, (r) => committed(r).length >= 1 || r.some((x) => x.status === 'failed'), 5 * 60_000);
		const round1 = after1.find((r) => r.number === 1)!;
		expect(round1.status, `round 1 ${round1.failureReason ?? ''}`).toBe('committed');
		expect(round1.resultModelVersion).toBe(1);
		const clusterRound1Ms = roundMs(round1);
		const weights = await modelWeights(apis[2], project.id, 1);
		const diff = maxAbsDiff(weights, reference.weights);
		const missing = participants.flatMap((p, i) => (round1.accepted.includes(p.deviceId) ? [] : [`p${i}@instance${i % INSTANCES}`]));
		console.log(
			`cluster: round 1 committed in ${seconds(clusterRound1Ms)} (single: ${seconds(reference.roundMs)}), ${round1.accepted.length}/${PARTICIPANTS} accepted${missing.length ? ` (missing ${missing.join(', ')})` : ''}, ${round1.totalSamples} samples; model v1 max |cluster - single| = ${diff.toExponential(3)}`
		);
		expect(round1.accepted, 'round 1 records every update').toHaveLength(PARTICIPANTS);
		expect(diff, 'model v1 of the cluster equals the single-instance reference').toBeLessThanOrEqual(TOLERANCE);

		// Round 2: find its leader, SIGKILL it once a few updates are in, and let the others finish.
		let leader = -1;
		let round2: Round | undefined;
		const deadline = Date.now() + 3 * 60_000;
		while (Date.now() < deadline) {
			const rounds = await apis[0].rounds(project.id).catch(() => [] as Round[]);
			round2 = rounds.find((r) => r.number === 2);
			if (round2 && round2.status !== 'open' && round2.status !== 'training') break;
			if (round2?.status === 'training' && round2.accepted.length >= 3) {
				const leads = await Promise.all(instances.map((s) => health(s.url).then((h) => h.leads ?? null)));
				if (leads.every((l) => l === null)) throw new Error('no instance reports `leads` in /health: the server has no cluster leader (contract: /health.leads)');
				const holders = leads.flatMap((l, i) => (l?.includes(project.id) ? [i] : []));
				expect(holders.length, `instances leading the project: ${JSON.stringify(leads)}`).toBeLessThanOrEqual(1);
				if (holders.length === 1) {
					leader = holders[0];
					break;
				}
			}
			await sleep(100);
		}
		if (leader < 0) {
			throw new Error(
				`round 2 was never seen training with >= 3 accepted updates and a leader: ${round2 ? `${round2.status}, ${round2.accepted.length} accepted` : 'no round 2'}`
			);
		}
		const acceptedAtKill = round2!.accepted.length;
		const killedAt = Date.now();
		const exit = await instances[leader].kill();
		console.log(`cluster: round 2 leader was instance ${leader}; SIGKILLed (${exit.signal}) with ${acceptedAtKill}/${PARTICIPANTS} updates accepted`);
		const survivor = (leader + 1) % INSTANCES;
		const api = apis[survivor];

		const rounds = await pollRounds(api, project.id, (r) => committed(r).length >= 2 || r.some((x) => x.status === 'failed'), 4 * 60_000);
		const killToCommitMs = Date.now() - killedAt;
		for (const r of rounds) {
			console.log(`cluster: round ${r.number}: ${r.status}${r.failureReason ? ` (${r.failureReason})` : ''}, ${r.accepted.length}/${r.selected.length} accepted, model v${r.resultModelVersion}, accuracy ${r.metrics.testAccuracy}, ${seconds(roundMs(r))}`);
		}
		expect(rounds.filter((r) => r.status === 'failed')).toEqual([]);
		expect(rounds.map((r) => [r.number, r.status, r.resultModelVersion])).toEqual([
			[1, 'committed', 1],
			[2, 'committed', 2]
		]);
		const r2 = rounds.find((r) => r.number === 2)!;
		expect(r2.accepted.length).toBeGreaterThanOrEqual(Math.max(PROJECT.minParticipants, acceptedAtKill));
		expect((await api.models(project.id)).map((m) => m.version).sort((a, b) => a - b)).toEqual([0, 1, 2]);

		// Another instance took the lease, unless the project already completed (round 2 was its last) and it was let go.
		const status = (await api.project(project.id)).status;
		const leadsAfter = await Promise.all(instances.map((s, i) => (i === leader ? Promise.resolve(null) : health(s.url).then((h) => h.leads ?? []))));
		const newLeader = leadsAfter.findIndex((l) => l?.includes(project.id));
		console.log(`cluster: after the kill: project ${status}, leads ${JSON.stringify(leadsAfter)}`);
		expect(newLeader >= 0 || status === 'completed', 'a surviving instance leads the project, or it is completed').toBe(true);
		if (newLeader >= 0) expect(newLeader).not.toBe(leader);
		await expect.poll(async () => (await api.project(project.id)).status, { timeout: 30_000 }).toBe('completed');

		console.log(
			`multi-instance timings: round 1 single ${seconds(reference.roundMs)}, cluster ${seconds(clusterRound1Ms)}; round 2 SIGKILL of the leader to commit ${seconds(killToCommitMs)} (lease 3 s, dropout grace 5 s); model v1 max diff ${diff.toExponential(3)}`
		);
	} catch (e) {
		for (const [i, p] of participants.entries()) {
			const state = p.state();
			console.log(`participant p${i} (${p.deviceId}, instance ${i % INSTANCES}): ${state.phase}; ${state.log.slice(0, 8).map((l) => l.message).join(' | ')}`);
		}
		// Its own lines, not the per-request access log.
		for (const [i, s] of instances.entries()) {
			console.log(`cluster: instance ${i} output (last 40 lines but requests):\n${s.output.filter((l) => !l.includes('"msg":"http request"')).slice(-40).join('\n')}`);
		}
		throw e;
	} finally {
		stopParticipants();
		for (const s of instances) await s.stop();
		await redis?.stop();
	}
});
