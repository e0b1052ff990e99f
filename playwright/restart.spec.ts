import { expect, test, type Page } from '@playwright/test';
import { committed } from './support/api-client';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

test('a server restart between rounds keeps the project, devices and models; participants rejoin', async ({ browser }) => {
	const server = new ServerProcess(await freePort(), freshDataDir());
	await server.start();
	const api = server.api();
	try {
		const project = await api.createProject({
			name: 'restart',
			rounds: 2,
			minParticipants: 2,
			shardCount: 2,
			batchSize: 16,
			roundTimeoutSec: 120
		});
		const joinUrl = api.joinUrl(project.id, await api.joinToken(project.id));
		const pages: Page[] = [];
		const shardFetches: string[] = [];
		for (let i = 0; i < 2; i++) {
			const page = await (await browser.newContext()).newPage();
			page.on('request', (r) => {
				if (r.url().includes('/shard?')) shardFetches.push(`${i}`);
			});
			await page.goto(joinUrl);
			await page.getByTestId('join-consent').click();
			await expect(page.getByTestId('samples')).toHaveText(/\d{3,}/, { timeout: 120_000 });
			pages.push(page);
		}
		const deviceIds = await Promise.all(pages.map((p) => p.getByTestId('device-id').getAttribute('title')));
		expect(shardFetches).toEqual(['0', '1']);

		// Reload keeps the identity and the cached shard.
		await pages[0].reload();
		const consent = pages[0].getByTestId('join-consent');
		if (await consent.isVisible().catch(() => false)) await consent.click();
		await expect(pages[0].getByTestId('samples')).toHaveText(/\d{3,}/, { timeout: 60_000 });
		expect(await pages[0].getByTestId('device-id').getAttribute('title')).toBe(deviceIds[0]);
		expect(shardFetches).toEqual(['0', '1']);

		await api.start(project.id);
		await api.waitForRounds(project.id, (r) => committed(r).length >= 1, 4 * 60_000);
		const before = { devices: await api.devices(project.id), models: await api.models(project.id) };

		await server.stop();
		await server.start();

		const afterProject = await api.project(project.id);
		expect(afterProject.name).toBe('restart');
		expect(afterProject.modelVersion).toBeGreaterThanOrEqual(1);
		const devices = await api.devices(project.id);
		expect(devices.map((d) => d.id).sort()).toEqual(before.devices.map((d) => d.id).sort());
		const models = await api.models(project.id);
		for (const m of before.models) expect(models.find((x) => x.version === m.version)?.sha256).toBe(m.sha256);

		// The same pages reconnect on their own, log in again with the same keys and finish the run.
		const rounds = await api.waitForRounds(project.id, (r) => committed(r).length >= 2, 4 * 60_000);
		expect(committed(rounds).map((r) => r.resultModelVersion)).toEqual([1, 2]);
		// A round caught training by the restart resumes with the same devices instead of failing.
		expect(rounds.filter((r) => r.status === 'failed')).toEqual([]);
		expect(rounds).toHaveLength(2);
		await expect.poll(async () => (await api.project(project.id)).status, { timeout: 10_000 }).toBe('completed');
		expect((await api.devices(project.id)).map((d) => d.id).sort()).toEqual([...deviceIds].sort());
		for (const r of rounds) console.log(`round ${r.number}: ${r.status}${r.failureReason ? ` (${r.failureReason})` : ''} accuracy ${r.metrics.testAccuracy}`);
	} finally {
		await server.stop();
	}
});
