import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import Papa from 'papaparse';
import { chromium, type Browser } from 'playwright-core';
import { decodeImageFile, labelImageFiles, prepareCsv, prepareImages, type ImageEntry, type SplitOptions } from '@qflare/data-import';
import { EXAMPLE_TASKS, ensureExample } from '@qflare/datasets/examples';
import { createRng } from '@qflare/fl';
import { JOIN_TOKEN_PARAM, type ImageClassificationTask, type Project, type TabularTask, type TaskSchema } from '@qflare/protocol';
import { startChildServer } from '../lib/child-server';
import { createProject, joinToken } from '../lib/participant-client';
import { ratio, summarize, type Summary } from '../lib/stats';
import { fmtSummary, type Section, type TableRow } from '../lib/types';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../playwright/support/chromium';

const ROOT = path.join(import.meta.dirname, '..', '..');
const CSV_ROWS = 10_000;
/** A phone's viewport, as the e2e tests use: the participant page is made for phones. */
const PHONE_VIEWPORT = { width: 390, height: 844 };
/** The options parseCsvTable passes to papaparse, so the baseline parses exactly as the import does. */
const PAPA_OPTIONS = { header: false, skipEmptyLines: false, dynamicTyping: false } as const;

/** 10,000 distinct rows: breast-cancer's 569 cycled (30 numeric columns and the label), each value scaled by a seeded factor in [0.98, 1.02]. */
async function largeCsv(): Promise<string> {
	const example = await ensureExample('breast-cancer');
	const [header, ...rows] = (await readFile(example.dataPath, 'utf8')).trimEnd().split('\n');
	const rng = createRng(10_000);
	const out = [header];
	for (let i = 0; i < CSV_ROWS; i++) {
		const cells = rows[i % rows.length].split(',');
		const label = cells.pop()!;
		out.push([...cells.map((c) => +(Number(c) * (0.98 + 0.04 * rng.next())).toPrecision(6)), label].join(','));
	}
	return out.join('\n') + '\n';
}

/** Every file under dir as `<dir name>/<class>/<file>`, the paths a browser's folder picker gives. */
async function imagePaths(dir: string): Promise<string[]> {
	const root = path.basename(dir);
	const entries = await readdir(dir, { recursive: true, withFileTypes: true });
	return entries
		.filter((e) => e.isFile())
		.map((e) => path.join(root, path.relative(dir, path.join(e.parentPath, e.name))).split(path.sep).join('/'))
		.sort();
}

/** Newest mtime of the sources the production build bundles (tests excluded). */
function newestSourceMs(): number {
	let newest = 0;
	const walk = (dir: string) => {
		if (!existsSync(dir)) return;
		for (const e of readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) walk(p);
			else if (!/\.test\.ts$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
		}
	};
	walk(path.join(ROOT, 'src'));
	for (const pkg of readdirSync(path.join(ROOT, 'packages'))) walk(path.join(ROOT, 'packages', pkg, 'src'));
	return newest;
}

/** The page must run the code under test: a missing or older build is rebuilt once. */
function ensureFreshBuild(log: (m: string) => void): void {
	const handler = path.join(ROOT, 'build', 'handler.js');
	if (existsSync(handler) && statSync(handler).mtimeMs >= newestSourceMs()) return;
	log('build/ is missing or older than src/ or packages/*/src: running npx vite build');
	const r = spawnSync('npx', ['vite', 'build'], { cwd: ROOT, stdio: 'inherit' });
	if (r.status !== 0) throw new Error('vite build failed');
}

interface PageImport {
	/** The page's own timer (DataImport.svelte): worker read, parse and checks, hold-out split, IndexedDB write. */
	pageMs: number;
	/** From setInputFiles to the timer showing, including Playwright handing the files to the page. */
	wallMs: number;
	/** The row or image count the page's preview shows. */
	rows: number;
}

/**
 * One import in a fresh phone-sized context (empty IndexedDB, a new data worker started on first
 * use, as for a participant opening the link): join page, consent, pick the file or folder, wait
 * for the page's timer.
 */
async function pageImport(browser: Browser, joinUrl: string, input: 'data-file' | 'data-folder', files: string, log: (m: string) => void): Promise<PageImport> {
	const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
	try {
		const page = await context.newPage();
		page.on('pageerror', (e) => log(`page error: ${e.message}`));
		await page.goto(joinUrl);
		await page.getByTestId('join-consent').click();
		const picker = page.getByTestId(input);
		await picker.waitFor({ state: 'attached', timeout: 60_000 });
		const started = Date.now();
		await picker.setInputFiles(files);
		await page.waitForFunction(
			() => document.querySelector('[data-testid="import-time"]')?.hasAttribute('data-ms') || document.querySelector('[data-testid="data-error"]') !== null,
			undefined,
			{ timeout: 300_000, polling: 50 }
		);
		const wallMs = Date.now() - started;
		const error = page.getByTestId('data-error');
		if (await error.count()) throw new Error(`the page could not import ${files}: ${await error.innerText()}`);
		const pageMs = Number(await page.getByTestId('import-time').getAttribute('data-ms'));
		const rows = Number(await page.getByTestId('data-rows').textContent());
		return { pageMs, wallMs, rows };
	} finally {
		await context.close();
	}
}

/** measured and baseline alternately, trial by trial, so load on the shared machine hits both alike; ms per call. */
function interleaved(trials: number, warmup: number, measured: () => unknown, baseline: () => unknown): { measured: number[]; baseline: number[] } {
	for (let i = 0; i < warmup; i++) {
		measured();
		baseline();
	}
	const a: number[] = [];
	const b: number[] = [];
	const time = (fn: () => unknown, into: number[]) => {
		const t = performance.now();
		fn();
		into.push(performance.now() - t);
	};
	// Alternating which goes first, so neither always pays for the other's garbage.
	for (let i = 0; i < trials; i++) {
		if (i % 2 === 0) {
			time(baseline, b);
			time(measured, a);
		} else {
			time(measured, a);
			time(baseline, b);
		}
	}
	return { measured: a, baseline: b };
}

export const dataImport: Section = async (ctx) => {
	const notMeasured: string[] = [];
	const pageTrials = ctx.quick ? 2 : 5;
	const nodeTrials = ctx.quick ? 3 : 15;

	// The inputs: a generated 10,000-row CSV and the 1,000-image Fashion-MNIST example folder.
	const csvTask = EXAMPLE_TASKS['breast-cancer'] as TabularTask;
	const imageTask = EXAMPLE_TASKS['fashion-mnist-images'] as ImageClassificationTask;
	const csvText = await largeCsv();
	const csvBytes = Buffer.byteLength(csvText);
	const tmp = await mkdtemp(path.join(os.tmpdir(), 'qflare-bench-import-'));
	const csvFile = path.join(tmp, 'breast-cancer-10000.csv');
	await writeFile(csvFile, csvText);
	const images = await ensureExample('fashion-mnist-images');
	const imageDir = path.resolve(images.dataPath);
	const paths = await imagePaths(imageDir);
	const labelled = labelImageFiles(paths, imageTask);
	const parent = path.dirname(imageDir);
	const imageBytes = await Promise.all(labelled.map(async (f) => new Uint8Array(await readFile(path.join(parent, ...f.path.split('/'))))));
	const imageTotalBytes = imageBytes.reduce((s, b) => s + b.length, 0);
	ctx.log(`inputs: ${CSV_ROWS} CSV rows (${(csvBytes / 1e6).toFixed(2)} MB), ${labelled.length} PNG images (${(imageTotalBytes / 1e6).toFixed(2)} MB)`);

	// Headless Chromium on the production build: the participant page of a local-data project.
	let split: SplitOptions = { holdOutFraction: 0.15, seed: 1 };
	const page: { csv: PageImport[]; images: PageImport[] } = { csv: [], images: [] };
	let userAgent: string | null = null;
	try {
		ensureFreshBuild(ctx.log);
		const server = await startChildServer('qflare-server.ts', ['--app']);
		let browser: Browser | null = null;
		try {
			const create = (name: string, task: TaskSchema) =>
				createProject<Project>(server, { name, dataSource: 'local', task, model: 'mlp', minParticipants: 1 });
			const csvProject = await create('bench import csv', csvTask);
			const imageProject = await create('bench import images', imageTask);
			// The Node figures use the split the page uses: the project's hold-out fraction and seed.
			split = { holdOutFraction: csvProject.holdOutFraction, seed: csvProject.seed };
			// Each trial's fresh context registers a new device: the links carry a join token.
			const joinUrl = async (projectId: string) => `${server.url}/join/${projectId}?${JOIN_TOKEN_PARAM}=${encodeURIComponent(await joinToken(server, projectId))}`;
			const csvJoinUrl = await joinUrl(csvProject.id);
			const imageJoinUrl = await joinUrl(imageProject.id);
			browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
			userAgent = browser.version();
			for (let i = 0; i < pageTrials; i++) {
				const c = await pageImport(browser, csvJoinUrl, 'data-file', csvFile, ctx.log);
				if (c.rows !== CSV_ROWS) throw new Error(`the page read ${c.rows} CSV rows, expected ${CSV_ROWS}`);
				page.csv.push(c);
				const m = await pageImport(browser, imageJoinUrl, 'data-folder', imageDir, ctx.log);
				if (m.rows !== labelled.length) throw new Error(`the page read ${m.rows} images, expected ${labelled.length}`);
				page.images.push(m);
				ctx.log(`page ${i + 1}/${pageTrials}: csv ${c.pageMs} ms (wall ${c.wallMs}), images ${m.pageMs} ms (wall ${m.wallMs})`);
			}
		} finally {
			await browser?.close();
			await server.stop();
		}
	} catch (e) {
		notMeasured.push(`headless Chromium: ${(e as Error).message}`);
	}

	// Node with @qflare/data-import, each trial beside its baseline.
	const csvRuns = interleaved(
		nodeTrials,
		2,
		() => {
			const prepared = prepareCsv(csvText, csvTask, split, 'breast-cancer-10000.csv');
			if (prepared.summary.rows !== CSV_ROWS) throw new Error(`prepareCsv read ${prepared.summary.rows} rows`);
		},
		() => {
			const parsed = Papa.parse<string[]>(csvText, PAPA_OPTIONS);
			if (parsed.data.length < CSV_ROWS + 1) throw new Error(`papaparse read ${parsed.data.length} records`);
		}
	);
	ctx.log(`node csv: prepareCsv ${summarize(csvRuns.measured).median.toFixed(1)} ms, papaparse ${summarize(csvRuns.baseline).median.toFixed(1)} ms`);
	const imageRuns = interleaved(
		nodeTrials,
		2,
		() => {
			const entries: ImageEntry[] = labelled.map((f, i) => ({ name: f.path, label: f.label, pixels: decodeImageFile(imageBytes[i], imageTask, f.path) }));
			const prepared = prepareImages(entries, imageTask, split, { source: path.basename(imageDir) });
			if (prepared.summary.rows !== labelled.length) throw new Error(`prepareImages packed ${prepared.summary.rows} images`);
		},
		() => {
			for (const bytes of imageBytes) decodePng(bytes);
		}
	);
	ctx.log(`node images: decodeImageFile + prepareImages ${summarize(imageRuns.measured).median.toFixed(1)} ms, fast-png ${summarize(imageRuns.baseline).median.toFixed(1)} ms`);
	await rm(tmp, { recursive: true, force: true });

	const s = {
		nodeCsv: summarize(csvRuns.measured),
		papaparse: summarize(csvRuns.baseline),
		nodeImages: summarize(imageRuns.measured),
		fastPng: summarize(imageRuns.baseline)
	};
	const pageCsv: Summary | null = page.csv.length ? summarize(page.csv.map((r) => r.pageMs)) : null;
	const pageImages: Summary | null = page.images.length ? summarize(page.images.map((r) => r.pageMs)) : null;
	const ms = (x: Summary) => fmtSummary(x, 'ms', 1);
	const papaBase = `papaparse alone (Node) ${ms(s.papaparse)}`;
	const pngBase = `fast-png decode alone (Node) ${ms(s.fastPng)}`;
	const csvName = `${CSV_ROWS.toLocaleString('en')} CSV rows (31 columns)`;
	const imageName = `${labelled.length.toLocaleString('en')} PNG images (28x28 gray)`;
	const rows: TableRow[] = [];
	if (pageCsv) rows.push({ figure: `chromium page import, ${csvName}`, value: ms(pageCsv), baseline: papaBase, ratio: ratio(pageCsv, s.papaparse) });
	if (pageImages) rows.push({ figure: `chromium page import, ${imageName}`, value: ms(pageImages), baseline: pngBase, ratio: ratio(pageImages, s.fastPng) });
	rows.push({ figure: `node prepareCsv, ${csvName}`, value: ms(s.nodeCsv), baseline: papaBase, ratio: ratio(s.nodeCsv, s.papaparse) });
	rows.push({ figure: `node decodeImageFile + prepareImages, ${imageName}`, value: ms(s.nodeImages), baseline: pngBase, ratio: ratio(s.nodeImages, s.fastPng) });
	if (ctx.quick) notMeasured.push(`--quick: ${pageTrials} page imports and ${nodeTrials} Node trials each`);

	return {
		section: 'data-import',
		method:
			`Page: the participant page (/join) of a local-data project on the production build in headless Chromium, a fresh phone-sized context per import, ` +
			`the CSV picked through data-testid="data-file" and the image folder through data-testid="data-folder"; the figure is the page's own timer ` +
			`(import-time data-ms: the data worker started on first use, file read, parse and checks or image decode, hold-out split, IndexedDB write), ${pageTrials} imports each. ` +
			`Node: prepareCsv on the CSV text and decodeImageFile of every file then prepareImages, bytes already in memory, hold-out ${split.holdOutFraction} seed ${split.seed} as the page, ` +
			`${nodeTrials} trials after two warm-ups, each beside its baseline (papaparse with the options parseCsvTable uses; fast-png decode of the same files); ` +
			`ratio = median over the baseline's median. The CSV is breast-cancer's 569 rows cycled to ${CSV_ROWS} with each value scaled by a seeded factor in [0.98, 1.02]; ` +
			`the images are the Fashion-MNIST example folder (${labelled.length} files, 10 class folders)`,
		rows,
		notMeasured,
		data: {
			inputs: { csvRows: CSV_ROWS, csvBytes, images: labelled.length, imageBytes: imageTotalBytes, split },
			chromium: userAgent,
			page: {
				csv: pageCsv,
				images: pageImages,
				csvWallMs: page.csv.length ? summarize(page.csv.map((r) => r.wallMs)) : null,
				imagesWallMs: page.images.length ? summarize(page.images.map((r) => r.wallMs)) : null,
				runs: page
			},
			node: { prepareCsv: s.nodeCsv, decodeAndPrepareImages: s.nodeImages },
			baselines: { papaparse: s.papaparse, fastPngDecode: s.fastPng },
			ratios: {
				pageCsvOverPapaparse: pageCsv ? ratio(pageCsv, s.papaparse) : null,
				pageImagesOverFastPng: pageImages ? ratio(pageImages, s.fastPng) : null,
				nodeCsvOverPapaparse: ratio(s.nodeCsv, s.papaparse),
				nodeImagesOverFastPng: ratio(s.nodeImages, s.fastPng),
				pageCsvOverNodeCsv: pageCsv ? ratio(pageCsv, s.nodeCsv) : null,
				pageImagesOverNodeImages: pageImages ? ratio(pageImages, s.nodeImages) : null
			},
			samples: { nodeCsv: csvRuns.measured, papaparse: csvRuns.baseline, nodeImages: imageRuns.measured, fastPng: imageRuns.baseline }
		}
	};
};
