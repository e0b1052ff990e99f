import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { EXAMPLE_TASKS, ensureExample, type ParticipantData } from '@qflare/datasets/examples';
import { createRng } from '@qflare/fl';
import type { TaskSchema } from '@qflare/protocol';
import { pickLocalData } from './sim/browser-fleet';
import { ApiClient } from './support/api-client';
import { LOCAL_DATA_IDS, PHONE_VIEWPORT } from './support/local-participant';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

// Measures, does not judge: how long a phone-sized page takes from picking its files to having
// them ready to train (parse and check in the worker, hold-out split, tensors cached in IndexedDB).
// The numbers go to the log for the closing note; the only assertion is that the import worked.

const CSV_ROWS = 10_000;

/** 10,000 distinct rows: breast-cancer's 569 cycled, each value scaled by a seeded factor in [0.98, 1.02]. */
async function largeCsv(file: string): Promise<void> {
	const example = await ensureExample('breast-cancer');
	const [header, ...rows] = (await readFile(example.dataPath, 'utf8')).trimEnd().split('\n');
	const rng = createRng(10_000);
	const out = [header];
	for (let i = 0; i < CSV_ROWS; i++) {
		const cells = rows[i % rows.length].split(',');
		const label = cells.pop()!;
		out.push([...cells.map((c) => +(Number(c) * (0.98 + 0.04 * rng.next())).toPrecision(6)), label].join(','));
	}
	writeFileSync(file, out.join('\n') + '\n');
}

async function timeImport(browser: Browser, name: string, task: TaskSchema, data: ParticipantData): Promise<void> {
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start();
	const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
	try {
		const api = new ApiClient(server.url);
		const project = await api.createProject({ name: `import timing ${name}`, dataSource: 'local', task, model: 'mlp', minParticipants: 1 });
		const page = await context.newPage();
		await page.goto(`${server.url}/join/${project.id}`);
		await page.getByTestId('join-consent').click();
		const started = Date.now();
		await pickLocalData(page, data);
		// The page times its own import (worker parse and checks, hold-out split, IndexedDB write).
		const timer = page.getByTestId(LOCAL_DATA_IDS.importTime);
		await expect(timer).toHaveAttribute('data-ms', /^\d+$/, { timeout: 300_000 });
		const wallMs = Date.now() - started;
		const pageMs = Number(await timer.getAttribute('data-ms'));
		await expect(page.getByTestId(LOCAL_DATA_IDS.samples)).toHaveText(/^\s*[1-9]\d*\s*$/, { timeout: 120_000 });
		const samples = Number(await page.getByTestId(LOCAL_DATA_IDS.samples).textContent());
		console.log(
			`import timing: ${name}: ${pageMs} ms measured by the page (${wallMs} ms from setInputFiles to the timer showing), ` +
				`${samples} training samples (phone viewport)`
		);
	} finally {
		await context.close();
		await server.stop();
	}
}

test('import timing: 10,000 CSV rows and 1,000 images in the page', async ({ browser }) => {
	test.setTimeout(10 * 60_000);
	const dir = mkdtempSync(path.join(tmpdir(), 'qflare-import-timing-'));
	const csv = path.join(dir, 'breast-cancer-10000.csv');
	await largeCsv(csv);
	await timeImport(browser, `${CSV_ROWS.toLocaleString('en')} CSV rows (breast-cancer, 31 columns)`, EXAMPLE_TASKS['breast-cancer'], { path: csv, kind: 'csv' });
	const images = await ensureExample('fashion-mnist-images');
	await timeImport(browser, `${images.count.toLocaleString('en')} PNG images (28x28 grayscale, 10 class folders)`, EXAMPLE_TASKS['fashion-mnist-images'], {
		path: images.dataPath,
		kind: 'images'
	});
	rmSync(dir, { recursive: true, force: true });
});
