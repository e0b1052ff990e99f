import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { EXAMPLE_TASKS, type ParticipantData } from '@qflare/datasets/examples';
import type { FederatedEvaluation, Project, Round, TaskSchema } from '@qflare/protocol';
import { ApiClient, committed } from './support/api-client';
import { imageSplitWithCanary, tabularSplitWithCanary } from './support/canary-data';
import {
	importLocalData,
	LOCAL_DATA_IDS,
	openParticipant,
	waitForReadyDevices,
	type ParticipantPage
} from './support/local-participant';
import { filesUnder, findLeaks, needles, numberNeedles, OutboundCapture, type Needle } from './support/outbound-capture';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';
import { scratchDirs } from './support/scratch-dirs';

// Three phone-sized pages train on their own files (CSV, then an image folder), set through the
// page's file inputs; nothing of the data may leave them. Measured with these very splits, seeds
// and hyperparameters in headless Chromium here (identical over three runs):
//   breast-cancer (canary planted), logistic, E=1 B=10 lr=0.1:
//     federated accuracy 89.5% / 91.9% / 93.0% (n 86)
//   fashion-mnist-images (1,000 + canary), mlp, E=3 B=10 lr=0.05:
//     federated accuracy 75.3% / 76.7% / 75.3% (n 150)
// The thresholds leave room for other backends' rounding and other machines' timing.
const TABULAR_MIN_ACCURACY = 0.85;
const IMAGE_MIN_ACCURACY = 0.6;
const ROUNDS = 3;

const tempDir = scratchDirs();

function describeRounds(rounds: Round[]): string {
	return rounds
		.map((r) => {
			const e: FederatedEvaluation | null = r.federatedEvaluation;
			return e
				? `round ${r.number}: federated accuracy ${e.accuracy === null ? '-' : (e.accuracy * 100).toFixed(1) + '%'}, macro-F1 ${e.macroF1?.toFixed(3) ?? '-'}, loss ${e.loss.toFixed(4)} (n ${e.n}, ${e.devices} devices)`
				: `round ${r.number}: no federated evaluation`;
		})
		.join('\n');
}

async function backends(pages: ParticipantPage[]): Promise<string> {
	return (await Promise.all(pages.map((p) => p.page.getByTestId(LOCAL_DATA_IDS.backend).textContent()))).map((b) => b?.trim()).join(', ');
}

async function evaluatedRounds(api: ApiClient, projectId: string): Promise<Round[]> {
	const rounds = await api.waitForRounds(
		projectId,
		// The server merges the participants' reports as they arrive: wait for all three.
		(r) => committed(r).length >= ROUNDS && committed(r).every((c) => (c.federatedEvaluation?.devices ?? 0) >= 3),
		6 * 60_000
	);
	return committed(rounds).sort((a, b) => a.number - b.number);
}

interface Session {
	server: ServerProcess;
	api: ApiClient;
	capture: OutboundCapture;
	/** A participant page on the project's join page; it is closed when the session ends. */
	open(projectId: string, label: string): Promise<ParticipantPage>;
}

/** A fresh server and capture for `body`; afterwards its pages close and the server stops. */
async function withServer(browser: Browser, body: (s: Session) => Promise<void>): Promise<void> {
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start();
	const api = server.api();
	const capture = new OutboundCapture();
	const pages: ParticipantPage[] = [];
	// One join link per project, as a coordinator would hand out.
	const joinUrls = new Map<string, string>();
	const open = async (projectId: string, label: string): Promise<ParticipantPage> => {
		let url = joinUrls.get(projectId);
		if (!url) joinUrls.set(projectId, (url = api.joinUrl(projectId, await api.joinToken(projectId))));
		const p = await openParticipant(browser, url, label, capture);
		pages.push(p);
		return p;
	};
	try {
		await body({ server, api, capture, open });
	} finally {
		for (const p of pages) await p.context.close().catch(() => undefined);
		await server.stop();
	}
}

/** A local-data project of ROUNDS rounds for three pages, each of which imports its part. */
async function threePagesOnOwnData(s: Session, config: Record<string, unknown>, parts: ParticipantData[]) {
	const project: Project = await s.api.createProject({ dataSource: 'local', rounds: ROUNDS, minParticipants: 3, batchSize: 10, seed: 3, ...config });
	const pages: ParticipantPage[] = [];
	for (let i = 0; i < 3; i++) pages.push(await s.open(project.id, `page ${i}`));
	const samples: number[] = [];
	for (let i = 0; i < 3; i++) samples.push(await importLocalData(pages[i], parts[i]));
	return { project, pages, samples };
}

/** Starts the project once its three devices are ready; its rounds, each evaluated by all three, the last at least `minAccuracy`. */
async function trainedRounds(api: ApiClient, projectId: string, task: TaskSchema, minAccuracy: number): Promise<Round[]> {
	await waitForReadyDevices(api, projectId, task, 3);
	await api.start(projectId);
	const rounds = await evaluatedRounds(api, projectId);
	console.log(describeRounds(rounds));
	for (const r of rounds) expect(r.federatedEvaluation).toMatchObject({ devices: 3, modelVersion: r.resultModelVersion });
	expect(rounds.at(-1)!.federatedEvaluation!.accuracy).toBeGreaterThanOrEqual(minAccuracy);
	return rounds;
}

/** Stops the server; then nothing in `patterns` may be in what left the pages or in the server's data directory. */
async function assertNothingLeaked({ server, capture }: Session, patterns: Needle[], started: number): Promise<void> {
	await server.stop();
	const stored = await filesUnder(server.dataDir);
	// The detector itself: every pattern is found where it is known to be.
	for (const n of patterns) expect(findLeaks([{ where: 'self-check', bytes: Buffer.concat([Buffer.from('x'), n.bytes]) }], [n])).toHaveLength(1);
	expect(findLeaks(capture.messages, patterns)).toEqual([]);
	expect(findLeaks(stored, patterns)).toEqual([]);
	console.log(`captured ${capture.messages.length} messages, ${capture.sentBytes()} bytes; wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

test.describe('participants on their own data', () => {
	test('three phones train a tabular classifier on their own CSVs; nothing of the data leaves them; Try the model matches the server', async ({ browser }) => {
		const started = Date.now();
		const split = await tabularSplitWithCanary(tempDir('qflare-e2e-tabular-'));
		const task = EXAMPLE_TASKS['breast-cancer'];
		await withServer(browser, async (s) => {
			const { api, capture } = s;
			const config = { name: 'e2e breast cancer, local CSVs', task, model: 'logistic', localEpochs: 1, learningRate: 0.1, roundTimeoutSec: 180 };
			const { project, pages, samples } = await threePagesOnOwnData(s, config, split.parts);
			console.log(`training rows per page: ${samples.join(', ')} (of ${split.rows.map((r) => r.length).join(', ')}); backends ${await backends(pages)}`);
			for (let i = 0; i < 3; i++) expect(samples[i]).toBeLessThan(split.rows[i].length);

			const rounds = await trainedRounds(api, project.id, task, TABULAR_MIN_ACCURACY);
			// Local projects have no server test set: the federated evaluation is their quality figure.
			expect(rounds.every((r) => r.metrics.testAccuracy === null)).toBe(true);
			const sentEvents = [...capture.events.values()];
			for (const events of sentEvents) {
				expect(events).toContain('data:stats');
				expect(events.filter((e) => e === 'round:update')).toHaveLength(ROUNDS);
				expect(events.filter((e) => e === 'eval:report').length).toBeGreaterThanOrEqual(ROUNDS);
			}

			// "Try the model" on page 0 with a row from page 2's data: the page's worker and the server agree.
			const { page } = pages[0];
			if (task.kind !== 'tabular') throw new Error('breast-cancer is tabular');
			const row = split.rows[2][0].split(',');
			const input = Object.fromEntries(task.features.map((f, j) => [f.name, Number(row[j])]));
			const latest = (await api.project(project.id)).modelVersion;
			await expect(page.getByTestId(LOCAL_DATA_IDS.tryModel)).toContainText(`version ${latest})`, { timeout: 60_000 });
			for (const [column, value] of Object.entries(input)) {
				await page.locator(`[data-testid="${LOCAL_DATA_IDS.tryField}"][data-field="${column}"]`).fill(String(value));
			}
			await page.getByTestId(LOCAL_DATA_IDS.trySubmit).click();
			const shown = page.getByTestId(LOCAL_DATA_IDS.prediction);
			await expect(shown).toHaveAttribute('data-label', /\S/, { timeout: 60_000 });
			expect(Number(await shown.getAttribute('data-model-version'))).toBe(latest);
			const pageLabel = await shown.getAttribute('data-label');
			const pageProbabilities: Record<string, number> = {};
			for (const item of await page.getByTestId(LOCAL_DATA_IDS.probability).all()) {
				pageProbabilities[(await item.getAttribute('data-class'))!] = Number(await item.getAttribute('data-value'));
			}
			const served = await api.predict(project.id, 'latest', { rows: [input] });
			expect(served.modelVersion).toBe(latest);
			const prediction = served.predictions[0];
			if (!('label' in prediction)) throw new Error('expected a class prediction');
			console.log(`try the model: page says ${pageLabel} ${JSON.stringify(pageProbabilities)}; server says ${prediction.label} ${JSON.stringify(prediction.probabilities)}`);
			expect(pageLabel).toBe(prediction.label);
			expect(Object.keys(pageProbabilities).sort()).toEqual(Object.keys(prediction.probabilities).sort());
			for (const [label, p] of Object.entries(prediction.probabilities)) expect(Math.abs(pageProbabilities[label] - p)).toBeLessThan(1e-3);

			// The privacy canary: the planted value, the file name, every raw row.
			const patterns: Needle[] = [
				...needles('canary value', split.value),
				...numberNeedles('canary value', Number(split.value)),
				...needles('canary file name', split.fileName),
				...needles('canary row', split.row),
				...split.rows.flatMap((rows, p) => rows.map((r, i) => ({ label: `page ${p} row ${i + 1}`, bytes: Buffer.from(r) })))
			];
			expect(capture.sentBytes()).toBeGreaterThan(0);
			await assertNothingLeaked(s, patterns, started);
		});
	});

	test('three phones train an image classifier on their own image folders; nothing of the images leaves them', async ({ browser }) => {
		const started = Date.now();
		const split = await imageSplitWithCanary(tempDir('qflare-e2e-images-'));
		const task = EXAMPLE_TASKS['fashion-mnist-images'];
		await withServer(browser, async (s) => {
			const config = { name: 'e2e fashion images, local folders', task, model: 'mlp', localEpochs: 3, learningRate: 0.05, roundTimeoutSec: 300 };
			const { project, pages, samples } = await threePagesOnOwnData(s, config, split.parts);
			console.log(`training images per page: ${samples.join(', ')}; backends ${await backends(pages)}`);

			await trainedRounds(s.api, project.id, task, IMAGE_MIN_ACCURACY);

			const patterns: Needle[] = [
				...needles('canary file', split.fileBytes),
				...needles('canary file name', split.fileName),
				...needles('canary pixels', split.pixels),
				...split.sampleFiles.map((bytes, i) => ({ label: `image file ${i}`, bytes }))
			];
			await assertNothingLeaked(s, patterns, started);
		});
	});

	test('a bad CSV gets a clear message on the page and nothing is sent', async ({ browser }) => {
		const dir = tempDir('qflare-e2e-bad-');
		const task = EXAMPLE_TASKS['breast-cancer'];
		if (task.kind !== 'tabular') throw new Error('breast-cancer is tabular');
		const source = (await readFile((await tabularSplitWithCanary(path.join(dir, 'split'))).parts[1].path, 'utf8')).trimEnd().split('\n');
		const header = source[0].split(',');
		// One column gone: every row lacks "mean area".
		const dropped = header.indexOf('mean area');
		const missingColumn = path.join(dir, 'missing-column.csv');
		writeFileSync(missingColumn, source.map((line) => line.split(',').filter((_, j) => j !== dropped).join(',')).join('\n') + '\n');
		// All columns, but row 3 says "n/a-7731" where a number belongs.
		const nonNumeric = path.join(dir, 'non-numeric.csv');
		const badRows = source.map((line, i) => (i === 3 ? line.replace(/^[^,]+/, 'n/a-7731') : line));
		writeFileSync(nonNumeric, badRows.join('\n') + '\n');

		await withServer(browser, async ({ api, capture, open }) => {
			const project = await api.createProject({ name: 'e2e bad files', dataSource: 'local', task, model: 'logistic', minParticipants: 1 });
			const { page } = await open(project.id, 'page');
			const error = page.getByTestId(LOCAL_DATA_IDS.error);

			await page.getByTestId(LOCAL_DATA_IDS.csvInput).setInputFiles(missingColumn);
			await expect(error).toBeVisible({ timeout: 60_000 });
			await expect(error).toContainText('mean area');
			await expect(error).toContainText('missing-column.csv');
			console.log(`missing column: ${await error.innerText()}`);

			await page.getByTestId(LOCAL_DATA_IDS.csvInput).setInputFiles(nonNumeric);
			await expect(error).toContainText('n/a-7731', { timeout: 60_000 });
			await expect(error).toContainText('mean radius');
			console.log(`non-numeric value: ${await error.innerText()}`);
			await expect(page.getByTestId(LOCAL_DATA_IDS.samples)).not.toHaveText(/[1-9]/);

			// Only a successful import starts a session, so once the import's outcome shows nothing more
			// can follow: the page never connected, and the server knows no device of this project.
			await expect(page.getByTestId('phase')).toHaveAttribute('data-phase', 'needs-data');
			await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'offline');
			expect(capture.events.get('page')).toEqual([]);
			expect(await api.devices(project.id)).toEqual([]);
			expect(findLeaks(capture.messages, [...needles('bad value', 'n/a-7731'), { label: 'a raw row', bytes: Buffer.from(source[5]) }])).toEqual([]);
		});
	});
});
