import type { BrowserContext } from '@playwright/test';

/**
 * One local training run of a participant page, as its trainer worker saw it: the global weights
 * it trained from and the plain delta it returned. Secure aggregation masks the delta before it
 * leaves the page, so a test that wants the plain FedAvg of a round has to take it here.
 */
export interface CapturedTraining {
	/** The float32 global weights sent to the worker (match them with a model version). */
	global: Float32Array;
	delta: Float32Array;
	numSamples: number;
}

interface PageCapture {
	global: string;
	delta: string;
	numSamples: number;
}

const BINDING = '__qflareTrainCaptured';

/**
 * Runs in the page before its scripts: wraps window.Worker so that Comlink's `train` calls (an
 * APPLY message whose first argument is the weights' ArrayBuffer) and their RAW replies (a value
 * with a `delta` ArrayBuffer and `numSamples`) are copied out through the binding. Copies are
 * taken before the buffers are transferred, so the page itself runs unchanged.
 */
function installTrainCapture({ bindingName, withhold }: { bindingName: string; withhold: number | null }): void {
	type Wire = { id?: unknown; type?: unknown; path?: unknown; argumentList?: { value?: unknown }[]; value?: unknown };
	const send = (capture: PageCapture): void => {
		const binding = (window as unknown as Record<string, ((c: PageCapture) => Promise<void>) | undefined>)[bindingName];
		void binding?.(capture);
	};
	const base64 = (buffer: ArrayBuffer): string => {
		const bytes = new Uint8Array(buffer);
		let text = '';
		for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
		return btoa(text);
	};
	// A plain function, not a subclass: Playwright's transpiler would turn class fields into helpers
	// that do not exist in the page.
	const Original = window.Worker;
	let trainCallsSeen = 0;
	function CapturingWorker(url: string | URL, options?: WorkerOptions): Worker {
		const worker = new Original(url, options);
		const trainCalls = new Map<string, string>();
		worker.addEventListener('message', (event: MessageEvent) => {
			const data = event.data as Wire | null;
			if (!data || data.type !== 'RAW' || typeof data.id !== 'string') return;
			const global = trainCalls.get(data.id);
			const value = data.value as { delta?: unknown; numSamples?: unknown } | null;
			if (global === undefined || !value || !(value.delta instanceof ArrayBuffer) || typeof value.numSamples !== 'number') return;
			trainCalls.delete(data.id);
			send({ global, delta: base64(value.delta), numSamples: value.numSamples });
		});
		const post = worker.postMessage.bind(worker) as (message: unknown, transfer?: unknown) => void;
		worker.postMessage = ((message: unknown, transfer?: unknown) => {
			const m = message as Wire | null;
			const first = m?.argumentList?.[0]?.value;
			if (m?.type === 'APPLY' && Array.isArray(m.path) && m.path[0] === 'train' && typeof m.id === 'string' && first instanceof ArrayBuffer) {
				// The withheld call never reaches the worker: the page stays in training for good.
				if (++trainCallsSeen === withhold) return;
				trainCalls.set(m.id, base64(first));
			}
			post(message, transfer);
		}) as Worker['postMessage'];
		return worker;
	}
	CapturingWorker.prototype = Original.prototype;
	window.Worker = CapturingWorker as unknown as typeof Worker;
}

export interface CaptureOptions {
	/**
	 * The n-th training (1-based, counted over the page's life) is never started: the page shows
	 * that round as training until it is closed, so a test can see states that a fast device
	 * passes in an instant (a secure round's 'ready', reached only while training runs).
	 */
	withholdTraining?: number | null;
}

/**
 * Captures every local training of the context's pages from now on (call before page.goto); the
 * returned list fills as the pages train and stays readable after they are closed.
 */
export async function captureTrainings(context: BrowserContext, options: CaptureOptions = {}): Promise<CapturedTraining[]> {
	const captured: CapturedTraining[] = [];
	await context.exposeBinding(BINDING, (_source, c: PageCapture) => {
		captured.push({ global: float32(c.global), delta: float32(c.delta), numSamples: c.numSamples });
	});
	await context.addInitScript(installTrainCapture, { bindingName: BINDING, withhold: options.withholdTraining ?? null });
	return captured;
}

function float32(base64: string): Float32Array {
	const bytes = Buffer.from(base64, 'base64');
	// A fresh, aligned copy: Buffer.from may hand out a slice of a shared pool.
	return new Float32Array(new Uint8Array(bytes).buffer);
}
