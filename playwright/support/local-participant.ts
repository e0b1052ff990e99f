import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { ParticipantData } from '@qflare/datasets/examples';
import type { Device, TaskSchema } from '@qflare/protocol';
import { pickLocalData } from '../sim/browser-fleet';
import type { ApiClient } from './api-client';
import type { OutboundCapture } from './outbound-capture';

/** A phone's viewport: the participant page is made for phones. */
export const PHONE_VIEWPORT = { width: 390, height: 844 };

/**
 * The participant page's test ids for local data (src/lib/participant/DataImport.svelte and
 * TryModel.svelte), in one place: the import inputs, the problem message, the page's own import
 * timer, and the "Try the model" form (fields carry data-field, the prediction data-label and
 * data-model-version, each probability row data-class and data-value).
 */
export const LOCAL_DATA_IDS = {
	csvInput: 'data-file',
	folderInput: 'data-folder',
	error: 'data-error',
	samples: 'samples',
	backend: 'backend',
	tryModel: 'try-model',
	tryField: 'try-field',
	trySubmit: 'try-submit',
	prediction: 'prediction',
	probability: 'probability'
} as const;

export interface ParticipantPage {
	label: string;
	context: BrowserContext;
	page: Page;
}

/** A fresh phone-sized context on the join page, consent given; everything it sends is captured. */
export async function openParticipant(browser: Browser, url: string, label: string, capture: OutboundCapture): Promise<ParticipantPage> {
	const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
	const page = await context.newPage();
	capture.attach(label, context, page);
	page.on('pageerror', (e) => console.log(`[${label} page error] ${e.message}`));
	await page.goto(url);
	await page.getByTestId('join-consent').click();
	return { label, context, page };
}

/** Picks the participant's own file or folder through the page's input and waits until it trains on it. */
export async function importLocalData(p: ParticipantPage, data: ParticipantData): Promise<number> {
	await pickLocalData(p.page, data);
	const samples = p.page.getByTestId(LOCAL_DATA_IDS.samples);
	const error = p.page.getByTestId(LOCAL_DATA_IDS.error);
	// Whichever comes first: the import failing (say why) or the page training on the data.
	await expect(samples.filter({ hasText: /^\s*[1-9]\d*\s*$/ }).or(error)).toBeVisible({ timeout: 120_000 });
	if (await error.isVisible()) throw new Error(`${p.label} could not import ${data.path}: ${await error.innerText()}`);
	await expect(p.page.getByTestId(LOCAL_DATA_IDS.backend)).toHaveText(/wasm|webgl|webgpu|cpu/, { timeout: 120_000 });
	return Number(await samples.textContent());
}

/** The server's view: every device online, with training rows and (when the task has numeric columns) its statistics. */
export async function waitForReadyDevices(api: ApiClient, projectId: string, task: TaskSchema, count: number): Promise<Device[]> {
	const needsStats = task.kind !== 'image-classification';
	const deadline = Date.now() + 120_000;
	let devices: Device[] = [];
	while (Date.now() < deadline) {
		devices = await api.devices(projectId);
		const ready = devices.filter((d) => d.online && d.samples > 0 && (!needsStats || d.featureStats !== null));
		if (ready.length >= count) return devices;
		await new Promise((r) => setTimeout(r, 500));
	}
	throw new Error(`devices not ready: ${JSON.stringify(devices.map((d) => [d.id, d.online, d.samples, d.featureStats !== null]))}`);
}
