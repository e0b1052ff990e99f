import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { initBackend } from './backend';
import type { Tf } from './tf';

export type NodeTf = { tf: Tf; backend: string };

/** Directory of the wasm backend's .wasm files on disk (trailing slash, as setWasmPaths wants). */
export function wasmDistDir(): string {
	const require = createRequire(import.meta.url);
	return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

let pending: Promise<NodeTf> | null = null;

/**
 * tfjs for Node: tfjs-node cannot be installed here (it downloads libtensorflow), so the wasm
 * backend (~12 ms/step for the MLP) with cpu (~44 ms/step) as the fallback. Idempotent.
 */
export function initNodeTf(options: { timeoutMs?: number; preferCpu?: boolean } = {}): Promise<NodeTf> {
	pending ??= (async () => {
		const timeoutMs = options.timeoutMs ?? 15_000;
		// Threads need worker pthreads and gained little even in browsers (FACTS.md).
		tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
		setWasmPaths(wasmDistDir());
		if (!options.preferCpu && (await initBackend(tf, 'wasm', timeoutMs)) === true) return { tf, backend: 'wasm' };
		const cpu = await initBackend(tf, 'cpu', timeoutMs);
		if (cpu !== true) throw new Error(`no tfjs backend in Node: cpu ${cpu}`);
		return { tf, backend: 'cpu' };
	})();
	pending.catch(() => (pending = null));
	return pending;
}
