import { expect, test, type Browser, type Page } from '@playwright/test';
import { committed } from './support/api-client';
import { AttackingParticipant } from './support/attacking-participant';
import { createJoinLink } from './support/dashboard';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

async function joinAsParticipant(browser: Browser, url: string): Promise<Page> {
	const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
	const page = await context.newPage();
	page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
	await page.goto(url);
	await page.getByTestId('join-consent').click();
	await expect(page.getByTestId('samples')).toHaveText(/\d{3,}/, { timeout: 120_000 });
	await expect(page.getByTestId('backend')).toHaveText(/wasm|webgl|webgpu|cpu/, { timeout: 120_000 });
	return page;
}

test('three browsers train three FedAvg rounds of the MNIST MLP; a forged update is rejected', async ({ browser }) => {
	const started = Date.now();
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start();
	const api = server.api();
	const forger = new AttackingParticipant('forged-signature');
	try {
		const adminContext = await browser.newContext();
		await server.signIn(adminContext);
		const admin = await adminContext.newPage();
		await admin.goto(`${server.url}/admin`);
		const fields: Record<string, string> = {
			name: 'e2e mnist mlp',
			rounds: '3',
			minParticipants: '3',
			shardCount: '3',
			localEpochs: '1',
			batchSize: '10',
			learningRate: '0.1',
			roundTimeoutSec: '180'
		};
		for (const [key, value] of Object.entries(fields)) await admin.getByTestId(`field-${key}`).fill(value);
		await admin.getByTestId('field-dataset').selectOption('mnist');
		await admin.getByTestId('field-model').selectOption('mlp');
		await admin.getByTestId('create-project-submit').click();
		await admin.waitForURL(/\/admin\/projects\/[^/]+$/);
		const projectId = admin.url().split('/').pop()!;
		// A join link carries a join token: the project page makes one on request.
		const joinUrl = await createJoinLink(admin);
		expect(joinUrl).toContain(`/join/${projectId}?t=`);
		await expect(admin.getByTestId('join-qr')).toBeVisible();

		const pages = [];
		// The link may carry this machine's LAN address for phones; the test stays on loopback.
		const link = new URL(joinUrl);
		for (let i = 0; i < 3; i++) pages.push(await joinAsParticipant(browser, `${server.url}${link.pathname}${link.search}`));
		const backends = await Promise.all(pages.map((p) => p.getByTestId('backend').textContent()));
		const reasons = await Promise.all(pages.map((p) => p.getByTestId('backend-reason').textContent()));
		console.log(`backends chosen: ${backends.join(', ')}; reason: ${reasons[0]}`);

		const forgerId = await forger.join(server.url, projectId, await api.joinToken(projectId));
		await expect(admin.getByTestId('device-row')).toHaveCount(4);

		await admin.getByTestId('start-round').click();
		const rounds = await api.waitForRounds(projectId, (r) => committed(r).length >= 3, 6 * 60_000);

		const done = committed(rounds).sort((a, b) => a.number - b.number);
		for (const r of done) {
			console.log(`round ${r.number}: test accuracy ${r.metrics.testAccuracy?.toFixed(4)} loss ${r.metrics.testLoss?.toFixed(4)}, accepted ${r.accepted.length}/${r.selected.length}`);
			expect(r.accepted).toHaveLength(3);
			expect(r.accepted).not.toContain(forgerId);
			expect(r.selected).toContain(forgerId);
		}
		expect(done[2].metrics.testAccuracy).toBeGreaterThanOrEqual(0.85);

		const models = await api.models(projectId);
		expect(models.map((m) => m.version).sort()).toEqual([0, 1, 2, 3]);
		expect(models.find((m) => m.version === 3)?.testAccuracy).toBe(done[2].metrics.testAccuracy);
		// The project is marked completed just after the last round's commit (payload clean-up first).
		await expect.poll(async () => (await api.project(projectId)).status, { timeout: 10_000 }).toBe('completed');

		expect(forger.replies.length).toBeGreaterThanOrEqual(3);
		for (const reply of forger.replies) expect(reply).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });

		// The dashboard shows what happened, live, and offers the model in the tfjs layers format.
		await expect(admin.locator('[data-testid="round-row"][data-status="committed"]')).toHaveCount(3);
		await expect(admin.getByTestId('accuracy-chart')).toBeVisible();
		const modelJsonHref = await admin.getByTestId('download-model').getAttribute('href');
		// Downloads need a signed-in caller: the link works with the dashboard's session, not without.
		const modelJsonUrl = new URL(modelJsonHref!, server.url);
		expect((await fetch(modelJsonUrl)).status).toBe(401);
		const modelJson = await (await adminContext.request.get(modelJsonUrl.href)).json();
		expect(modelJson.format).toBe('layers-model');
		expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
		const weights = await adminContext.request.get(new URL('weights.bin', modelJsonUrl).href);
		expect((await weights.body()).byteLength).toBe(199_210 * 4);

		// Participants saw their own training and the global result.
		for (const page of pages) {
			await expect(page.getByTestId('global-accuracy')).toHaveText(/0\.\d+|\d+(\.\d+)?\s*%/);
			await expect(page.getByTestId('local-accuracy')).not.toBeEmpty();
			// Fits a phone's width: nothing scrolls sideways once the results table is filled.
			expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
		}
		console.log(`e2e wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
	} finally {
		forger.close();
		await server.stop();
	}
});
