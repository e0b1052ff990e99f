import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { parseSocketIoEvent } from '../sim/browser-fleet';

/** Bytes a page sent: an HTTP request body or one websocket frame. */
export interface OutboundMessage {
	/** Which page (label) and where to: `POST http://...` or `ws http://.../socket.io/...`. */
	where: string;
	bytes: Buffer;
}

/** A byte pattern that must not leave the device, with a name for the failure message. */
export interface Needle {
	label: string;
	bytes: Buffer;
}

/**
 * Records everything the given pages send: every HTTP request body of their contexts (pages and
 * workers alike) and every websocket frame, text or binary, plus the socket.io event names.
 */
export class OutboundCapture {
	readonly messages: OutboundMessage[] = [];
	/** Socket.io events sent, by page label, in order (`data:stats`, `round:update`, ...). */
	readonly events = new Map<string, string[]>();

	attach(label: string, context: BrowserContext, page: Page): void {
		const events: string[] = [];
		this.events.set(label, events);
		context.on('request', (request) => {
			const body = request.postDataBuffer();
			if (body && body.length) this.messages.push({ where: `${label} ${request.method()} ${request.url()}`, bytes: body });
		});
		page.on('websocket', (ws) => {
			ws.on('framesent', ({ payload }) => {
				const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
				this.messages.push({ where: `${label} ws ${ws.url()}`, bytes });
				const event = parseSocketIoEvent(payload);
				if (event) events.push(event.name);
			});
		});
	}

	sentBytes(): number {
		return this.messages.reduce((n, m) => n + m.bytes.length, 0);
	}
}

/** Base64 spellings of `bytes` at the three possible alignments inside a longer encoded stream. */
function base64Variants(bytes: Buffer): Buffer[] {
	const variants: Buffer[] = [];
	for (let skip = 0; skip < 3; skip++) {
		const part = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
		if (part.length >= 12) variants.push(Buffer.from(part.toString('base64'), 'ascii'));
	}
	return variants;
}

/** A text or byte pattern as it could travel: raw (UTF-8) and base64-encoded. */
export function needles(label: string, value: string | Uint8Array): Needle[] {
	const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
	return [{ label, bytes }, ...base64Variants(bytes).map((b, i) => ({ label: `${label} (base64, offset ${i})`, bytes: b }))];
}

/** A number as the binary encodings a tensor or a codec would carry. */
export function numberNeedles(label: string, value: number): Needle[] {
	const f32 = Buffer.alloc(4);
	f32.writeFloatLE(value);
	const f64 = Buffer.alloc(8);
	f64.writeDoubleLE(value);
	return [
		{ label: `${label} (float32)`, bytes: f32 },
		{ label: `${label} (float64)`, bytes: f64 }
	];
}

/** Every needle found in any message: `label in where`. */
export function findLeaks(messages: readonly OutboundMessage[], patterns: readonly Needle[]): string[] {
	const found: string[] = [];
	for (const m of messages) for (const n of patterns) if (m.bytes.includes(n.bytes)) found.push(`${n.label} in ${m.where}`);
	return found;
}

/** Every file under dir, as messages, so the same check runs on what the server stored. */
export async function filesUnder(dir: string): Promise<OutboundMessage[]> {
	const out: OutboundMessage[] = [];
	for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
		if (!entry.isFile()) continue;
		const file = path.join(entry.parentPath, entry.name);
		out.push({ where: file, bytes: await readFile(file) });
	}
	return out;
}
