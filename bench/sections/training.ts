import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chooseBackend, MODEL_SPECS, type BackendChoice, type Tf } from '@qflare/trainer';
import { wasmDistDir } from '@qflare/trainer/node';
import { timeSteps, type BenchModel, type StepTiming } from '../browser/step-timing';
import { startChildServer } from '../lib/child-server';
import { summarize, type Summary } from '../lib/stats';
import { fmtSummary, type Section, type TableRow } from '../lib/types';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../playwright/support/chromium';


interface BrowserBench {
	userAgent: string;
	hardwareConcurrency: number;
	adapter: { kind: string; note: string } | null;
	timings: StepTiming[];
	calibration: { model: BenchModel; choice?: BackendChoice; error?: string; ms: number }[];
	done: boolean;
	error?: string;
}

/** Node: the headless participant's environment (wasm, cpu); tfjs-node cannot install here. */
async function nodeTimings(quick: boolean, log: (m: string) => void): Promise<{ timings: StepTiming[]; calibration: Record<string, BackendChoice | string> }> {
	tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
	setWasmPaths(wasmDistDir());
	const timings: StepTiming[] = [];
	for (const model of ['mlp', 'cnn'] as const) {
		for (const backend of ['wasm', 'cpu']) {
			// A Node cpu CNN step takes ~45 s (FACTS.md): one timed step after the warm-up.
			if (quick && model === 'cnn' && backend === 'cpu') {
				timings.push({ model, backend, stepsMs: [], unavailable: 'skipped in --quick (about 45 s a step)' });
				continue;
			}
			const t = await timeSteps(tf as unknown as Tf, model, backend, {
				batchSize: 32,
				steps: model === 'mlp' ? (quick ? 5 : 30) : 2,
				budgetMs: model === 'mlp' ? 60_000 : 30_000,
				initTimeoutMs: 15_000
			});
			log(`node ${model} ${backend}: ${t.unavailable ?? `${summarize(t.stepsMs).median.toFixed(1)} ms/step`}`);
			timings.push(t);
		}
	}
	// What a Node participant would pick: the trainer's own calibration over the same backends.
	const calibration: Record<string, BackendChoice | string> = {};
	for (const model of ['mlp', 'cnn'] as const) {
		try {
			calibration[model] = await chooseBackend(tf as unknown as Tf, MODEL_SPECS[model], ['wasm', 'cpu'], { batchSize: 32, gpu: null });
		} catch (e) {
			calibration[model] = (e as Error).message;
		}
	}
	return { timings, calibration };
}

async function ensureBuild(log: (m: string) => void): Promise<void> {
	// The bench route must be in build/; an older build without it is rebuilt once.
	const server = await startChildServer('qflare-server.ts', ['--app']).catch(() => null);
	let ok = false;
	if (server) {
		ok = (await fetch(`${server.url}/bench`).catch(() => null))?.status === 200;
		await server.stop();
	}
	if (ok) return;
	log('build/ lacks the /bench route: running npx vite build');
	const r = spawnSync('npx', ['vite', 'build'], { cwd: path.join(import.meta.dirname, '..', '..'), stdio: 'inherit' });
	if (r.status !== 0) throw new Error('vite build failed');
}

async function browserTimings(quick: boolean, log: (m: string) => void): Promise<BrowserBench> {
	await ensureBuild(log);
	const server = await startChildServer('qflare-server.ts', ['--app']);
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const page = await browser.newPage();
		page.on('console', (m) => {
			if (m.type() === 'error') log(`page console: ${m.text()}`);
		});
		const query = quick
			? 'auto=1&models=mlp,cnn&steps=5&cnnSteps=1&cnnBackends=webgl&budgetMs=30000'
			: 'auto=1&models=mlp,cnn&steps=30&cnnSteps=3&budgetMs=60000';
		await page.goto(`${server.url}/bench?${query}`);
		const timeoutMs = quick ? 300_000 : 900_000;
		let last = '';
		const started = Date.now();
		while (Date.now() - started < timeoutMs) {
			const done = await page.evaluate(() => (window as unknown as { __qflareBench?: unknown }).__qflareBench);
			if (done) return done as BrowserBench;
			const status = (await page.getByTestId('bench-status').textContent()) ?? '';
			if (status !== last) log(`browser: ${(last = status)}`);
			await new Promise((r) => setTimeout(r, 1000));
		}
		throw new Error(`the bench page did not finish in ${timeoutMs / 1000} s (last: ${last})`);
	} finally {
		await browser.close();
		await server.stop();
	}
}

function stepRows(where: string, timings: StepTiming[]): { rows: TableRow[]; medians: Record<string, Summary> } {
	const rows: TableRow[] = [];
	const medians: Record<string, Summary> = {};
	for (const model of ['mlp', 'cnn'] as const) {
		const ok = timings.filter((t) => t.model === model && !t.unavailable && t.stepsMs.length);
		const sums = new Map(ok.map((t) => [t.backend, summarize(t.stepsMs)]));
		// The baseline is the fastest backend for that model in the same environment.
		const best = [...sums.entries()].sort((a, b) => a[1].median - b[1].median)[0];
		for (const t of timings.filter((x) => x.model === model)) {
			const s = sums.get(t.backend);
			if (s) medians[`${model}/${t.backend}`] = s;
			rows.push({
				figure: `${where} ${model} ${t.backend}, batch 32`,
				value: s ? `${fmtSummary(s, 'ms/step', 1)}${t.capped ? ' (capped)' : ''}` : `n/a: ${t.unavailable}`,
				baseline: best ? `fastest: ${best[0]} ${best[1].median.toFixed(1)} ms` : '-',
				ratio: s && best ? Math.round((s.median / best[1].median) * 100) / 100 : null
			});
		}
	}
	return { rows, medians };
}

export const training: Section = async (ctx) => {
	const notMeasured: string[] = [];
	const rows: TableRow[] = [];
	let browser: BrowserBench | null = null;
	try {
		browser = await browserTimings(ctx.quick, ctx.log);
		if (browser.error) notMeasured.push(`browser bench page error: ${browser.error}`);
	} catch (e) {
		notMeasured.push(`headless Chromium: ${(e as Error).message}`);
	}
	if (browser) {
		rows.push(...stepRows('chromium', browser.timings).rows);
		for (const c of browser.calibration) {
			rows.push({ figure: `chromium calibration picks (${c.model})`, value: c.choice?.backend ?? `none: ${c.error}`, baseline: c.choice?.reason.slice(0, 60) ?? '-', ratio: null });
		}
		if (ctx.quick) notMeasured.push('--quick: CNN in Chromium on webgl only, 1 step');
	}
	const node = await nodeTimings(ctx.quick, ctx.log);
	rows.push(...stepRows('node', node.timings).rows);
	for (const [model, c] of Object.entries(node.calibration)) {
		rows.push({ figure: `node calibration picks (${model})`, value: typeof c === 'string' ? `none: ${c}` : c.backend, baseline: '-', ratio: null });
	}
	return {
		section: 'training',
		method:
			'One trainLocal call over one synthetic batch of 32 per step, after one untimed warm-up step, each backend pinned in a fresh worker of the /bench page of ' +
			'the production build in headless Chromium (SwiftShader WebGPU, software WebGL) and in the bench process in Node (tfjs wasm and cpu); ratio = ms/step over ' +
			'the fastest backend for that model in the same environment; calibration = the trainer worker\'s init() (chooseBackend) on the same page and chooseBackend in Node',
		rows,
		notMeasured,
		data: { browser, node }
	};
};
