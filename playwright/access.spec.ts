import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startNodeParticipant, type NodeParticipant, type ParticipantState } from '@qflare/participant-node';
import type { CreatedInvitation, Organisation, Round } from '@qflare/protocol';
import QRCode from 'qrcode';
import { ApiClient, committed } from './support/api-client';
import { createJoinLink, shownValue } from './support/dashboard';
import { PHONE_VIEWPORT } from './support/local-participant';
import { freePort, freshDataDir, ServerProcess } from './support/server-process';

// The access flow end to end, on the production build: first-run setup from the printed
// link, sign-out and sign-in, an invited researcher who creates a project, a phone joining through
// the QR code's link, a page without a token, a second organisation that sees nothing of the first,
// and a device revoked mid-round while the round still commits.

const OWNER = { name: 'Olga Owner', email: 'olga@lab-a.test', password: 'owner password 1', organisation: 'Lab A' };
const RESEARCHER = { name: 'Rafa Researcher', email: 'rafa@lab-a.test', password: 'researcher password 1' };
const OTHER = { name: 'Otto Other', email: 'otto@lab-b.test', password: 'other password 1', organisation: 'Lab B' };
const PROJECT_NAME = 'access e2e mnist';
const NODE_PARTICIPANTS = 3;

/** A link the dashboard shows may carry the machine's LAN address for phones; the test stays on loopback. */
function onServer(server: ServerProcess, link: string): string {
	const url = new URL(link, server.url);
	return `${server.url}${url.pathname}${url.search}`;
}

/** The text a QR code element encodes (QrCode.svelte keeps it in data-text) after checking its drawing is that text's code. */
async function qrText(qr: ReturnType<Page['getByTestId']>): Promise<string> {
	await expect(qr.locator('svg')).toBeVisible();
	const holder = qr.locator('[data-text]').or(qr.and(qr.page().locator('[data-text]'))).first();
	const text = await holder.getAttribute('data-text');
	if (!text) throw new Error('the QR code names no text');
	// Drawn with the dashboard's options (QrCode.svelte): the same modules mean the same content.
	const expected = await QRCode.toString(text, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
	const modules = (svg: string) => [...svg.matchAll(/<path[^>]*\sd="([^"]+)"/g)].map((m) => m[1]).sort();
	expect(modules(await qr.locator('svg').evaluate((el) => el.outerHTML))).toEqual(modules(expected));
	return text;
}

async function signedOutPage(context: BrowserContext): Promise<Page> {
	const page = await context.newPage();
	page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
	return page;
}

/** Opens an invitation link and creates the account it invites. */
async function acceptInvitation(page: Page, link: string, who: { name: string; email: string; password: string }, role: string): Promise<void> {
	await page.goto(link);
	await expect(page.getByTestId('invite-preview')).toContainText(role);
	await page.getByTestId('invite-name').fill(who.name);
	const email = page.getByTestId('invite-email');
	// An invitation made for one address fills it in, read-only.
	if (await email.isEditable()) await email.fill(who.email);
	else await expect(email).toHaveValue(who.email);
	await page.getByTestId('invite-password').fill(who.password);
	await page.getByTestId('invite-accept').click();
	await page.waitForURL(/\/admin$/);
	await expect(page.getByTestId('account-name')).toHaveText(who.name);
}

/** The organisation page's invitation form: a link for `role`. */
async function inviteLink(page: Page, role: string): Promise<string> {
	const form = page.getByTestId('invite-create');
	await form.getByTestId('invite-role').selectOption(role);
	await form.getByTestId('invite-submit').click();
	return shownValue(page.getByTestId('invite-link'));
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]).finally(() => clearTimeout(timer));
}

/** Resolves once the participant trains (its first progress report of a round). */
function whenTraining(p: NodeParticipant): Promise<void> {
	return new Promise((resolve) => {
		const stop = p.subscribe((s: ParticipantState) => {
			if (s.phase === 'training' && s.progress) {
				queueMicrotask(() => stop());
				resolve();
			}
		});
	});
}

// A step that cannot happen should fail in seconds, not at the test's timeout.
test.use({ actionTimeout: 30_000, navigationTimeout: 60_000 });

test('first-run setup, invitations, a phone joining by QR link, organisation isolation, a device revoked mid-round', async ({ browser }) => {
	test.setTimeout(10 * 60_000);
	const started = Date.now();
	const server = new ServerProcess(await freePort(), freshDataDir());
	const nodesDir = mkdtempSync(path.join(tmpdir(), 'qflare-access-nodes-'));
	const nodes: NodeParticipant[] = [];
	const contexts: BrowserContext[] = [];
	const context = async (options: Parameters<typeof browser.newContext>[0] = {}) => {
		const c = await browser.newContext(options);
		contexts.push(c);
		return c;
	};
	try {
		await server.start({ bootstrap: false });

		// First run: nothing but /health works until the printed link makes an owner.
		expect(server.setupUrl).toMatch(/\/setup\?token=[^&\s]+$/);
		expect((await fetch(`${server.url}/api/v1/projects`)).status).toBe(401);
		const owner = await signedOutPage(await context());
		await owner.goto(server.setupUrl!);
		const setup = owner.getByTestId('setup-form');
		await setup.getByTestId('setup-name').fill(OWNER.name);
		await setup.getByTestId('setup-email').fill(OWNER.email);
		await setup.getByTestId('setup-password').fill(OWNER.password);
		await setup.getByTestId('setup-organisation').fill(OWNER.organisation);
		await setup.getByTestId('setup-submit').click();
		await owner.waitForURL(/\/admin$/);
		await expect(owner.getByTestId('account-name')).toHaveText(OWNER.name);
		// The link was good for one use.
		expect(await (await fetch(`${server.url}/api/v1/auth/setup`)).json()).toEqual({ needed: false });

		// Sign out, then in again.
		await owner.getByTestId('sign-out').click();
		await owner.waitForURL(/\/login/);
		const login = owner.getByTestId('login-form');
		await login.getByTestId('login-email').fill(OWNER.email);
		await login.getByTestId('login-password').fill(OWNER.password);
		await login.getByTestId('login-submit').click();
		await owner.waitForURL(/\/admin$/);
		await expect(owner.getByTestId('org-switcher')).toContainText(OWNER.organisation);

		// The owner invites a researcher; the researcher, in another browser, accepts and creates a project.
		await owner.getByTestId('org-settings').click();
		await owner.waitForURL(/\/admin\/orgs\/[^/]+$/);
		const orgA = decodeURIComponent(owner.url().split('/').pop()!);
		const researcherInvite = await inviteLink(owner, 'researcher');
		expect(researcherInvite).toContain('/invite?token=');
		const researcher = await signedOutPage(await context());
		await acceptInvitation(researcher, onServer(server, researcherInvite), RESEARCHER, 'researcher');
		const fields: Record<string, string> = {
			name: PROJECT_NAME,
			rounds: '1',
			minParticipants: '3',
			shardCount: '6',
			localEpochs: '1',
			batchSize: '10',
			learningRate: '0.1',
			roundTimeoutSec: '300'
		};
		for (const [key, value] of Object.entries(fields)) await researcher.getByTestId(`field-${key}`).fill(value);
		await researcher.getByTestId('field-dataset').selectOption('mnist');
		await researcher.getByTestId('field-model').selectOption('mlp');
		await researcher.getByTestId('create-project-submit').click();
		await researcher.waitForURL(/\/admin\/projects\/[^/]+$/);
		const projectId = researcher.url().split('/').pop()!;

		// A join link with a token, and its QR code, from the project page.
		const joinLink = await createJoinLink(researcher);
		expect(joinLink).toMatch(new RegExp(`/join/${projectId}\\?t=qjt_`));
		const scanned = await qrText(researcher.getByTestId('join-qr'));
		expect(scanned).toBe(joinLink);

		// A phone opens what the QR code says and registers.
		const phone = await signedOutPage(await context({ viewport: PHONE_VIEWPORT, isMobile: true, hasTouch: true }));
		await phone.goto(onServer(server, scanned));
		await phone.getByTestId('join-consent').click();
		await expect(phone.getByTestId('samples')).toHaveText(/\d{3,}/, { timeout: 120_000 });
		await expect(phone.getByTestId('backend')).toHaveText(/wasm|webgl|webgpu|cpu/, { timeout: 120_000 });
		const phoneId = await phone.getByTestId('device-id').getAttribute('title');
		expect(phoneId).toBeTruthy();
		// The participant page offers no way into the dashboard.
		await expect(phone.locator('a[href*="/admin"]')).toHaveCount(0);

		// Without a token, the page says how to get one and registers nothing.
		const stranger = await signedOutPage(await context({ viewport: PHONE_VIEWPORT }));
		await stranger.goto(`${server.url}/join/${projectId}`);
		await expect(stranger.getByTestId('join-token-missing')).toBeVisible();
		await expect(stranger.getByTestId('join-token-missing')).toContainText(/join link|QR/i);
		await expect(stranger.locator('a[href*="/admin"]')).toHaveCount(0);

		// The owner makes an admin API key on the dashboard (shown once) to drive the rest.
		await owner.goto(`${server.url}/admin/orgs/${encodeURIComponent(orgA)}`);
		// The tables load after hydration: filling the form before it would be undone.
		await expect(owner.getByTestId('members-table')).toBeVisible();
		const keyForm = owner.getByTestId('apikey-create');
		await keyForm.getByTestId('apikey-name').fill('access e2e');
		await keyForm.getByTestId('apikey-scope').selectOption('admin');
		await keyForm.getByTestId('apikey-submit').click();
		const apiKey = await shownValue(owner.getByTestId('apikey-secret'));
		expect(apiKey).toMatch(/^qfk_[0-9a-f]{12}_/);
		const api = new ApiClient(server.url, { apiKey, organisationId: orgA });
		expect((await api.project(projectId)).organisationId).toBe(orgA);
		await expect(owner.getByTestId('members-table')).toContainText(RESEARCHER.email);
		await expect(owner.getByTestId('members-table')).toContainText('researcher');

		// A second organisation: the owner makes it and invites its own owner, who sees nothing of Lab A.
		const ownerApi = owner.context().request;
		const orgBReply = await ownerApi.post(`${server.url}/api/v1/orgs`, { data: { name: OTHER.organisation }, headers: { origin: server.url } });
		expect(orgBReply.ok()).toBe(true);
		const orgB = (await orgBReply.json()) as Organisation;
		const inviteB = await ownerApi.post(`${server.url}/api/v1/orgs/${orgB.id}/invitations`, {
			data: { role: 'owner', email: OTHER.email },
			headers: { origin: server.url }
		});
		expect(inviteB.ok()).toBe(true);
		const other = await signedOutPage(await context());
		await acceptInvitation(other, `${server.url}${((await inviteB.json()) as CreatedInvitation).path}`, OTHER, 'owner');
		await expect(other.getByTestId('org-switcher')).toContainText(OTHER.organisation);
		await expect(other.getByTestId('org-switcher')).not.toContainText(OWNER.organisation);
		await expect(other.getByText(`No projects in ${OTHER.organisation} yet`)).toBeVisible();
		await expect(other.getByTestId('project-row')).toHaveCount(0);
		const otherApi = other.context().request;
		expect(await (await otherApi.get(`${server.url}/api/v1/projects`)).json()).toEqual([]);
		for (const route of ['', '/devices', '/rounds', '/models']) {
			expect((await otherApi.get(`${server.url}/api/v1/projects/${projectId}${route}`)).status(), `GET /projects/:id${route}`).toBe(404);
		}
		expect((await otherApi.post(`${server.url}/api/v1/projects/${projectId}/start`, { headers: { origin: server.url } })).status()).toBe(404);
		await other.goto(`${server.url}/admin/projects/${projectId}`);
		await expect(other.getByText(PROJECT_NAME)).toHaveCount(0);

		// Three Node participants join with a token of the API; with the phone, four devices get ready.
		const joinToken = await api.joinToken(projectId, { label: 'node participants' });
		for (let i = 0; i < NODE_PARTICIPANTS; i++) {
			nodes.push(await startNodeParticipant({ server: server.url, project: projectId, joinToken, dataDir: path.join(nodesDir, `node-${i}`), name: `access-node-${i}` }));
		}
		const deadline = Date.now() + 180_000;
		while ((await api.devices(projectId)).filter((d) => d.online && d.samples > 0 && d.backend !== null).length < NODE_PARTICIPANTS + 1) {
			if (Date.now() > deadline) throw new Error(`devices not ready: ${JSON.stringify(await api.devices(projectId))}`);
			await new Promise((r) => setTimeout(r, 500));
		}

		// The researcher starts the round; the owner revokes one Node participant while it trains.
		const victim = nodes[0];
		const training = whenTraining(victim);
		await owner.goto(`${server.url}/admin/projects/${projectId}`);
		const victimRow = owner.locator(`[data-testid="device-row"][data-id="${victim.deviceId}"]`);
		await expect(victimRow).toBeVisible();
		// The devices table shows how old each device's key is.
		await expect(victimRow.getByTestId('device-key-age')).not.toBeEmpty();
		await researcher.getByTestId('start-round').click();
		await within(training, 120_000, 'the participant to be revoked never trained');
		owner.once('dialog', (d) => void d.accept());
		await victimRow.getByTestId('device-revoke').click();
		await expect(victimRow).toHaveAttribute('data-revoked', 'true');
		const ended = await within(victim.finished, 60_000, 'the revoked participant kept going');
		expect(ended.phase).toBe('failed');
		expect(ended.refused).toBe('DEVICE_REVOKED');
		console.log(`revoked participant stopped: ${ended.error}`);

		const rounds = await api.waitForRounds(projectId, (r) => committed(r).length >= 1, 5 * 60_000);
		const round: Round = committed(rounds)[0];
		console.log(`round ${round.number}: accepted ${round.accepted.length}/${round.selected.length}, test accuracy ${round.metrics.testAccuracy?.toFixed(4)}`);
		expect(round.selected).toContain(victim.deviceId);
		expect(round.accepted).not.toContain(victim.deviceId);
		expect(round.accepted).toContain(phoneId);
		// The two other Node participants and the phone.
		expect(round.accepted).toHaveLength(NODE_PARTICIPANTS - 1 + 1);
		const revoked = (await api.devices(projectId)).find((d) => d.id === victim.deviceId);
		expect(revoked?.revokedAt).toBeTruthy();

		// It cannot come back with its key, even with a valid join token.
		const again = await startNodeParticipant({ server: server.url, project: projectId, joinToken, dataDir: path.join(nodesDir, 'node-0'), name: 'access-node-0 again' });
		nodes.push(again);
		const refused = await within(again.finished, 60_000, 'the revoked device got back in');
		expect(refused.refused).toBe('DEVICE_REVOKED');

		// The owner's audit log has it all.
		await owner.goto(`${server.url}/admin/orgs/${encodeURIComponent(orgA)}`);
		const audit = owner.getByTestId('audit-table');
		for (const action of ['user.setup', 'member.invited', 'member.joined', 'project.created', 'joinToken.created', 'apiKey.created', 'project.started', 'device.revoked']) {
			await expect(audit, action).toContainText(action);
		}
		console.log(`access e2e wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
	} finally {
		for (const n of nodes) n.stop();
		for (const c of contexts) await c.close().catch(() => undefined);
		await server.stop();
		rmSync(nodesDir, { recursive: true, force: true });
	}
});
