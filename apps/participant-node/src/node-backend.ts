import { initNodeTf } from '@qflare/trainer/node';
import { initBackend, missingKernels, type ModelSpec, type Tf } from '@qflare/trainer';
import type { BackendName } from '@qflare/protocol';

export interface NodeBackend {
	tf: Tf;
	backend: BackendName;
	reason: string;
}

// One tfjs instance per process (the trainer package's module singleton), shared by every
// participant in it; its backend is process-wide, so this module is the one place that sets it.
let switching: Promise<unknown> = Promise.resolve();

/**
 * The backend that can train the model of `spec` in Node: wasm (several times faster than cpu) unless it
 * lacks a kernel the model needs (wasm has no Conv2DBackpropFilter, so the CNN trains on cpu).
 * Once a process has moved to cpu it stays there: cpu trains every model, and switching back
 * under participants that are mid-round would move their variables between backends.
 */
export function nodeBackendFor(spec: ModelSpec): Promise<NodeBackend> {
	const model = spec.name;
	const next = switching.then(async () => {
		const { tf } = await initNodeTf();
		const current = tf.getBackend();
		const missing = missingKernels(tf, spec, current);
		if (missing.length === 0) {
			const reason = current === 'wasm' ? 'Node, single-threaded' : 'Node: wasm unavailable, or a model in this process needs a kernel wasm lacks';
			return { tf, backend: asBackendName(current), reason };
		}
		const cpu = await initBackend(tf, 'cpu', 15_000);
		if (cpu !== true) throw new Error(`${model} needs ${missing.join(', ')}, missing on ${current}, and cpu failed: ${cpu}`);
		const stillMissing = missingKernels(tf, spec, 'cpu');
		if (stillMissing.length) throw new Error(`no Node backend can train ${model}: cpu lacks ${stillMissing.join(', ')}`);
		return { tf, backend: 'cpu' as const, reason: `Node: ${current} lacks ${missing.join(', ')}` };
	});
	switching = next.catch(() => undefined);
	return next;
}

function asBackendName(name: string): BackendName {
	if (name === 'wasm' || name === 'cpu' || name === 'webgl' || name === 'webgpu') return name;
	throw new Error(`tfjs is on an unexpected backend "${name}"`);
}
