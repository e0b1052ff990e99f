import { chromium, type Browser, type BrowserContext, type Page, type WebSocket } from '@playwright/test';
import type { ParticipantData } from '@qflare/datasets/examples';
import { JOIN_TOKEN_PARAM } from '@qflare/protocol';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium';
import { dropsOut } from './dropout';


export interface BrowserParticipantSpec {
	index: number;
	/** Origin of this page's byte-counting relay. */
	origin: string;
	/** Local-data projects: the CSV file or image folder the page picks through its file input. */
	data?: ParticipantData | null;
}

export interface BrowserFleetOptions {
	project: string;
	/** The project's join token, carried by the join link each page opens. */
	joinToken: string;
	seed: number;
	dropout: number;
	participants: BrowserParticipantSpec[];
	pagesPerBrowser: number;
	onEvent(event: BrowserEvent): void;
}

export type BrowserEvent =
	| { type: 'ready'; index: number; deviceId: string; backend: string; samples: number }
	| { type: 'selected'; index: number; round: number }
	| { type: 'trained'; index: number; round: number; trainMs: number }
	| { type: 'dropped'; index: number; round: number }
	| { type: 'page-error'; index: number; message: string };

/** Payload bytes of the page's websocket frames: the FL protocol itself, no HTTP. */
export interface WebsocketBytes {
	sent: number;
	received: number;
}

export interface BrowserFleet {
	readonly processes: number;
	readonly websocketBytes: Map<number, WebsocketBytes>;
	stop(): Promise<void>;
}

/** Page joins at once: each calibrates tfjs backends, which saturates 2 cores by itself. */
const JOIN_CONCURRENCY = 4;
const JOIN_TIMEOUT_MS = 180_000;

interface SocketIoEvent {
	name: string;
	body: Record<string, unknown>;
}

/** Reads a socket.io text frame such as `451-/participant,7["round:task",{...}]`. */
export function parseSocketIoEvent(payload: string | Buffer): SocketIoEvent | null {
	if (typeof payload !== 'string') return null;
	const start = payload.indexOf('[');
	if (start < 0 || !/^\d/.test(payload)) return null;
	try {
		const parsed: unknown = JSON.parse(payload.slice(start));
		if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return null;
		const body = parsed[1];
		return { name: parsed[0], body: body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {} };
	} catch {
		return null;
	}
}

/**
 * Imports a participant's own data the way a person does: through the page's file input (a CSV
 * file, or a folder picked with the directory input). Parsing happens in the page's worker.
 */
export async function pickLocalData(page: Page, data: ParticipantData): Promise<void> {
	await page.getByTestId(data.kind === 'csv' ? 'data-file' : 'data-folder').setInputFiles(data.path);
}

/**
 * Browser participants: one Chromium process per `pagesPerBrowser` pages, each page in its own
 * context (own IndexedDB, identity and consent). Selection and training time are read from the
 * page's socket.io frames (round:task in, round:update out); a participant that drops out closes
 * its page once the progress bar shows training under way.
 */
export async function startBrowserFleet(options: BrowserFleetOptions): Promise<BrowserFleet> {
	const browsers: Browser[] = [];
	const websocketBytes = new Map<number, WebsocketBytes>();
	const contexts = new Map<number, BrowserContext>();
	let stopping = false;

	for (let i = 0; i < options.participants.length; i += options.pagesPerBrowser) {
		browsers.push(await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS }));
	}

	function watchFrames(index: number, page: Page): void {
		const bytes: WebsocketBytes = { sent: 0, received: 0 };
		websocketBytes.set(index, bytes);
		const roundOf = new Map<string, number>();
		let decided = 0;
		page.on('websocket', (ws: WebSocket) => {
			ws.on('framesent', ({ payload }) => {
				bytes.sent += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
				const event = parseSocketIoEvent(payload);
				if (event?.name !== 'round:update') return;
				const round = roundOf.get(String(event.body.roundId));
				if (round !== undefined && typeof event.body.trainMs === 'number') {
					options.onEvent({ type: 'trained', index, round, trainMs: event.body.trainMs });
				}
			});
			ws.on('framereceived', ({ payload }) => {
				bytes.received += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
				const event = parseSocketIoEvent(payload);
				if (event?.name !== 'round:task' || typeof event.body.roundNumber !== 'number') return;
				const round = event.body.roundNumber;
				roundOf.set(String(event.body.roundId), round);
				if (round <= decided) return;
				decided = round;
				options.onEvent({ type: 'selected', index, round });
				if (dropsOut(options.seed, index, round, options.dropout)) void dropOut(index, page, round);
			});
		});
	}

	async function dropOut(index: number, page: Page, round: number): Promise<void> {
		try {
			// Training under way: the bar is active and at least one batch is done.
			await page.locator('[data-testid="train-progress"][data-active="true"]:not([data-fraction="0.000"])').waitFor({ timeout: 120_000 });
		} catch {
			// Closed already, or training never showed: leave anyway.
		}
		await contexts.get(index)?.close().catch(() => undefined);
		contexts.delete(index);
		options.onEvent({ type: 'dropped', index, round });
	}

	async function join(spec: BrowserParticipantSpec): Promise<void> {
		const browser = browsers[Math.floor(options.participants.indexOf(spec) / options.pagesPerBrowser)];
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		contexts.set(spec.index, context);
		const page = await context.newPage();
		page.on('pageerror', (e) => options.onEvent({ type: 'page-error', index: spec.index, message: e.message }));
		watchFrames(spec.index, page);
		await page.goto(`${spec.origin}/join/${options.project}?${JOIN_TOKEN_PARAM}=${encodeURIComponent(options.joinToken)}`);
		await page.getByTestId('join-consent').click();
		if (spec.data) await pickLocalData(page, spec.data);
		const backend = page.locator('[data-testid="backend"]');
		// Ready, or refused: a bad file or too little data ends the join with the page's own message.
		const outcome = await page.waitForFunction(
			() => {
				const importError = document.querySelector('[data-testid="data-error"]')?.textContent?.trim();
				if (importError) return { error: importError };
				const phase = document.querySelector('[data-testid="phase"]')?.getAttribute('data-phase');
				if (phase === 'needs-data' || phase === 'failed') {
					const why = document.querySelector('[data-testid="phase"] + [role="alert"]')?.textContent?.trim();
					if (why) return { error: why };
				}
				const ready =
					/wasm|webgl|webgpu|cpu/.test(document.querySelector('[data-testid="backend"]')?.textContent ?? '') &&
					/\d/.test(document.querySelector('[data-testid="samples"]')?.textContent ?? '');
				return ready ? { error: null } : false;
			},
			undefined,
			{ timeout: JOIN_TIMEOUT_MS, polling: 500 }
		);
		const { error } = (await outcome.jsonValue()) as { error: string | null };
		if (error) throw new Error(`the page refused its data: ${error}`);
		options.onEvent({
			type: 'ready',
			index: spec.index,
			deviceId: (await page.getByTestId('device-id').getAttribute('title')) ?? '',
			backend: ((await backend.textContent()) ?? '').trim(),
			samples: Number(await page.getByTestId('samples').textContent())
		});
	}

	const queue = [...options.participants];
	const failures: Error[] = [];
	await Promise.all(
		Array.from({ length: Math.min(JOIN_CONCURRENCY, queue.length) }, async () => {
			for (let spec = queue.shift(); spec && !stopping; spec = queue.shift()) {
				await join(spec).catch((e: unknown) => failures.push(new Error(`browser participant ${spec.index}: ${String(e)}`)));
			}
		})
	);

	const fleet: BrowserFleet = {
		processes: browsers.length,
		websocketBytes,
		async stop() {
			stopping = true;
			await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
		}
	};
	if (failures.length) {
		await fleet.stop();
		throw failures[0];
	}
	return fleet;
}
