import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Device, Project, Round, TabularTask } from '@qflare/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilePreparedDataStore } from './local-import';
import { startNodeParticipant, type NodeParticipant } from './participant';
import type { OwnerApi } from './test-support/owner-api';
import { startOwnedServer, type OwnedServer } from './test-support/owned-server';
import { until } from './test-support/until';

const root = mkdtempSync(path.join(tmpdir(), 'qflare-participant-local-'));

const TASK: TabularTask = {
	kind: 'tabular',
	features: [
		{ name: 'size', type: 'numeric' },
		{ name: 'weight', type: 'numeric' },
		{ name: 'colour', type: 'categorical', values: ['red', 'green'] }
	],
	target: 'kind',
	objective: { type: 'classification', classes: ['small', 'large'] }
};

/** A value planted in the data: it must never show up on the server. */
const CANARY = '4242.4242';

/** 40 rows; "large" when size + weight is above 10; row 7 carries the canary as its weight. */
function goodCsv(): string {
	const lines = ['size,weight,colour,kind'];
	for (let i = 0; i < 40; i++) {
		const size = (i * 7) % 11;
		const weight = i === 7 ? CANARY : String((i * 3) % 9);
		lines.push(`${size},${weight},${i % 2 ? 'red' : 'green'},${size + Number(weight) > 10 ? 'large' : 'small'}`);
	}
	return lines.join('\n') + '\n';
}

function write(name: string, text: string): string {
	const file = path.join(root, name);
	writeFileSync(file, text);
	return file;
}

/** Every byte the server keeps on disk, as text, to search for the planted value. */
function serverFilesText(dir: string): string {
	let text = '';
	for (const entry of readdirSync(dir)) {
		const file = path.join(dir, entry);
		text += statSync(file).isDirectory() ? serverFilesText(file) : readFileSync(file).toString('latin1');
	}
	return text;
}

describe('the Node participant on local data', () => {
	let server: OwnedServer;
	let owner: OwnerApi;
	/** Each project's join token, made with it. */
	const tokens = new Map<string, string>();

	const api = <T>(method: string, p: string, body?: unknown): Promise<T> => owner.call<T>(method, p, body);
	const createProject = async (config: Record<string, unknown>): Promise<Project> => {
		const project = await owner.createProject(config);
		tokens.set(project.id, await owner.joinToken(project.id));
		return project;
	};
	const localProject = (name: string) =>
		createProject({
			name,
			dataSource: 'local',
			task: TASK,
			model: 'logistic',
			rounds: 1,
			minParticipants: 1,
			batchSize: 8,
			learningRate: 0.1,
			localEpochs: 2,
			roundTimeoutSec: 60
		});
	const devices = (projectId: string) => api<Device[]>('GET', `/projects/${projectId}/devices`);

	async function join(project: string, dataDir: string, files: { csvFile?: string }, lines: string[] = []): Promise<NodeParticipant> {
		const p = await startNodeParticipant({
			server: server.url,
			project,
			dataDir,
			...files,
			joinToken: tokens.get(project),
			log: (line) => lines.push(line),
			reconnectionDelayMs: 200,
			reconnectionDelayMaxMs: 1_000
		});
		server.participants.push(p);
		return p;
	}

	beforeAll(async () => {
		server = await startOwnedServer(root);
		owner = server.owner;
	});

	afterAll(() => server?.close());

	it('refuses a bad CSV with every problem before it connects, and sends nothing', async () => {
		const project = await localProject('bad file');
		const bad = write('bad.csv', 'size,weight,colour,kind\n3,2,red,small\nbig,2,blue,small\n4,1,green,huge\n');
		const dataDir = path.join(root, 'bad-device');
		const error = await join(project.id, dataDir, { csvFile: bad }).then(
			() => null,
			(e: unknown) => e as Error
		);
		expect(error?.message).toMatch(/^--csv .*bad\.csv cannot be used/);
		// Each problem names the row and the column or value.
		expect(error?.message).toMatch(/size/);
		expect(error?.message).toMatch(/"big"/);
		expect(error?.message).toMatch(/"blue"/);
		expect(error?.message).toMatch(/"huge"/);
		expect(await devices(project.id)).toEqual([]);
		expect(existsSync(new FilePreparedDataStore(dataDir).pathOf(project.id))).toBe(false);
	});

	it('the CLI prints the problems and exits with code 1, having sent nothing', async () => {
		const project = await localProject('bad file, CLI');
		const bad = write('bad-cli.csv', 'size,weight,colour,kind\n3,2,red,small\n5,,green,large\n');
		const bin = path.join(import.meta.dirname, '..', 'bin', 'qflare-participant.js');
		const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
			const child = execFile(
				process.execPath,
				[bin, '--server', server.url, '--project', project.id, '--data', path.join(root, 'cli-device'), '--csv', bad, '--join-token', tokens.get(project.id)!],
				{ timeout: 30_000 },
				(_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr })
			);
		});
		expect(run.code).toBe(1);
		expect(run.stderr).toMatch(/^qflare-participant: --csv .*bad-cli\.csv: bad-cli\.csv row 3, column "weight"/);
		expect(run.stdout).toBe('');
		expect(await devices(project.id)).toEqual([]);
	}, 40_000);

	it('the CLI refuses to share the sums of a CSV with fewer than 10 training rows, and exits with code 1', async () => {
		const project = await localProject('too few rows, CLI');
		// 8 rows: 1 held out (15%), 7 to train on; their sums would pin the rows down.
		const few = write('few.csv', goodCsv().split('\n').slice(0, 9).join('\n') + '\n');
		const bin = path.join(import.meta.dirname, '..', 'bin', 'qflare-participant.js');
		const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
			const child = execFile(
				process.execPath,
				[bin, '--server', server.url, '--project', project.id, '--data', path.join(root, 'few-device'), '--csv', few],
				// The token from the environment, as a CLI user may prefer (it stays out of the process list).
				{ timeout: 30_000, env: { ...process.env, QFLARE_JOIN_TOKEN: tokens.get(project.id)! } },
				(_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr })
			);
		});
		expect(run.code).toBe(1);
		expect(run.stdout).toMatch(/^prepared 8 rows from few\.csv: 7 rows for training, 1 held out for evaluation/);
		expect(run.stderr).toContain(
			'this project needs at least 10 training rows on each device so that the column sums it shares cannot reveal single rows; ' +
				'this file has 7 besides the rows held out for evaluation'
		);
		// Logged in, but reported nothing about its data: no sums, no samples.
		const [device] = await devices(project.id);
		expect(device).toMatchObject({ samples: 0, featureStats: null, labelHistogram: null });
	}, 40_000);

	it('refuses --csv for a demo project, and a local project without data, saying what to do', async () => {
		const demo = await createProject({ name: 'demo', rounds: 1 });
		const csv = write('good-for-demo.csv', goodCsv());
		await expect(join(demo.id, path.join(root, 'demo-device'), { csvFile: csv })).rejects.toThrow(
			/trains on the server's demo data \(mnist\); it takes no --csv/
		);
		expect(await devices(demo.id)).toEqual([]);

		const local = await localProject('no data');
		const p = await join(local.id, path.join(root, 'empty-device'), {});
		const final = await p.finished;
		expect(final.phase).toBe('needs-data');
		expect(final.error).toMatch(/import your data first/);
		// Logged in, but reported nothing about data.
		const [device] = await devices(local.id);
		expect(device).toMatchObject({ samples: 0, featureStats: null, labelHistogram: null });
	});

	it('imports a CSV, reports sums and label counts, trains, evaluates its hold-out and restarts from the cache', async () => {
		const project = await localProject('good file');
		const csv = write('good.csv', goodCsv());
		const dataDir = path.join(root, 'good-device');
		mkdirSync(dataDir, { recursive: true });
		const lines: string[] = [];
		let p = await join(project.id, dataDir, { csvFile: csv }, lines);
		const printed = /^prepared 40 rows from good\.csv: 34 rows for training, 6 held out for evaluation; training samples per class (\d+) \/ (\d+)/.exec(lines[0]);
		expect(printed, lines[0]).not.toBeNull();
		await until('the participant to be ready', () => (p.state().phase === 'waiting' ? true : undefined));
		expect(p.state()).toMatchObject({ samples: 34, holdOutSamples: 6 });

		const [device] = await until('the device status', async () => {
			const list = await devices(project.id);
			return list[0]?.samples ? list : undefined;
		});
		expect(device.samples).toBe(34);
		expect(Object.keys(device.featureStats?.columns ?? {}).sort()).toEqual(['size', 'weight']);
		expect(device.featureStats?.columns.size.count).toBe(34);
		// The dashboard shows the counts the CLI printed: the training rows' classes.
		expect(device.labelHistogram).toEqual([Number(printed![1]), Number(printed![2])]);
		expect(device.labelHistogram?.reduce((a, b) => a + b, 0)).toBe(34);

		await api('POST', `/projects/${project.id}/start`);
		const round = await until('round 1 to close', async () => {
			const r = (await api<Round[]>('GET', `/projects/${project.id}/rounds`))[0];
			return r?.status === 'committed' || r?.status === 'failed' ? r : undefined;
		});
		expect(round.status).toBe('committed');
		const evaluation = await until('the federated evaluation', () => p.state().evaluations[0]?.delivery === 'accepted' ? p.state().evaluations[0] : undefined);
		expect(evaluation).toMatchObject({ modelVersion: 1, n: 6 });
		expect(evaluation.accuracy).toBeGreaterThanOrEqual(0);
		const stored = await until('the device evaluation on the server', async () => (await devices(project.id))[0]?.lastEvaluation ?? undefined);
		expect(stored).toMatchObject({ modelVersion: 1, n: 6, accuracy: evaluation.accuracy });
		expect(p.state().globalModel?.modelVersion).toBe(1);

		// Raw rows never reach the server: the planted value is in none of its files.
		expect(serverFilesText(server.dataDir)).not.toContain(CANARY);

		// A restart without --csv trains on the prepared copy in the data directory.
		p.stop();
		await p.finished;
		p = await join(project.id, dataDir, {}, lines);
		await until('the restarted participant to be ready', () => (p.state().phase === 'waiting' || p.state().phase === 'stopped' ? true : undefined));
		expect(p.state().samples).toBe(34);
		expect(p.state().log.some((entry) => /data imported before/.test(entry.message))).toBe(true);
	}, 90_000);
});
