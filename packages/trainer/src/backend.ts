import type { Tf } from './tf';
import type { Activation, ModelSpec } from './spec';
import type { LabelledData } from './data';
import { buildModel } from './model';
import { inputSize } from './spec';
import { trainLocal } from './train';
import type { BackendName } from '@qflare/protocol';

export type { BackendName };

export type BackendChoice = {
	backend: string;
	/** One line for the participant page: why this backend. */
	reason: string;
	/** ms per training step, or why a backend was not timed. */
	timings: Record<string, number | string>;
};

/** The slice of navigator.gpu that the choice needs (injectable for tests). */
export type GpuLike = {
	requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean; architecture?: string; vendor?: string; description?: string }; isFallbackAdapter?: boolean } | null>;
};

export type ChooseBackendOptions = {
	/** The project's batch size: steps are timed at the size training will use. */
	batchSize: number;
	seed?: number;
	/** A backend whose init takes longer is treated as unavailable. */
	initTimeoutMs?: number;
	/** A backend whose warm-up step takes longer is not timed further. */
	warmupCapMs?: number;
	/** Steps timed after the warm-up; the mean counts. */
	timedSteps?: number;
	/** Defaults to globalThis.navigator?.gpu; null means no WebGPU. */
	gpu?: GpuLike | null;
};

export type AdapterKind = { kind: 'none' | 'software' | 'hardware'; note: string };

const TIMEOUT = Symbol('timeout');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const t = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), ms)));
	return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function defaultGpu(): GpuLike | null {
	const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
	return nav?.gpu ?? null;
}

/** Classifies the WebGPU adapter: software adapters (SwiftShader) train 15x slower than wasm. */
export async function probeWebGpuAdapter(gpu: GpuLike | null, timeoutMs = 5000): Promise<AdapterKind> {
	if (!gpu) return { kind: 'none', note: 'no WebGPU' };
	try {
		const adapter = await withTimeout(gpu.requestAdapter(), timeoutMs);
		if (adapter === TIMEOUT) return { kind: 'none', note: 'webgpu adapter request timed out' };
		if (!adapter) return { kind: 'none', note: 'no webgpu adapter' };
		const info = adapter.info ?? {};
		const arch = (info.architecture ?? '').toLowerCase();
		if (arch === 'swiftshader') return { kind: 'software', note: 'webgpu adapter is SwiftShader (software)' };
		if (info.isFallbackAdapter || adapter.isFallbackAdapter) return { kind: 'software', note: 'webgpu adapter is a fallback (software) adapter' };
		const name = [info.vendor, arch || info.description].filter(Boolean).join(' ');
		return { kind: 'hardware', note: `webgpu adapter ${name || 'is hardware'}` };
	} catch (e) {
		return { kind: 'none', note: `webgpu adapter failed: ${(e as Error).message}` };
	}
}

// Kernels by what a training step runs (read from tf.profile of trainLocal on cpu; backend.test.ts
// checks these lists still cover every kernel a step of each zoo model runs).
const STEP_KERNELS = ['Add', 'Cast', 'Identity', 'Mean', 'Multiply', 'RealDiv', 'Reshape', 'Sub', 'Sum'];
// FedProx adds mu/2 * sum of squared differences to the loss.
const PROXIMAL_KERNELS = ['AddN', 'SquaredDifference'];
const CROSS_ENTROPY_KERNELS = ['Softmax', 'OneHot', 'ClipByValue', 'GreaterEqual', 'LessEqual', 'LogicalAnd', 'Select', 'ZerosLike', 'Log', 'Neg', 'ArgMax', 'Equal'];
const LOSS_KERNELS = { mse: ['SquaredDifference'], mae: ['Abs', 'Step'] } as const;
const ACTIVATION_KERNELS: Record<Activation, string[]> = { relu: ['Relu', 'Step'], softmax: ['Softmax'], sigmoid: ['Sigmoid'], tanh: ['Tanh', 'Square'], linear: [] };
const MATMUL_KERNELS = ['_FusedMatMul', 'BatchMatMul'];
// tfjs runs conv1d as a conv2d over a reshaped input: it needs the conv2d gradients too.
const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'];
const POOL_KERNELS = ['MaxPool', 'MaxPoolGrad'];
// The GRU unrolls over time steps (Unpack, Transpose), splits its gates (SplitV) and concatenates state.
const GRU_KERNELS = [...MATMUL_KERNELS, 'Sigmoid', 'Tanh', 'Square', 'Neg', 'SplitV', 'Concat', 'Unpack', 'Transpose', 'Tile'];

/** Kernels a training step of the spec needs (loss, optimizer, every layer's forward and gradient). */
export function requiredKernels(spec: ModelSpec): string[] {
	const k = new Set<string>([...STEP_KERNELS, ...PROXIMAL_KERNELS]);
	const add = (names: readonly string[]) => names.forEach((n) => k.add(n));
	add(spec.objective.type === 'classification' ? CROSS_ENTROPY_KERNELS : LOSS_KERNELS[spec.objective.loss]);
	for (const layer of spec.layers) {
		if (layer.type === 'dense') add(MATMUL_KERNELS);
		if (layer.type === 'conv2d' || layer.type === 'conv1d') add(CONV_KERNELS);
		if (layer.type === 'maxPooling2d' || layer.type === 'maxPooling1d') add(POOL_KERNELS);
		if (layer.type === 'gru') add(GRU_KERNELS);
		if (layer.type === 'flatten') add(['Reshape']);
		if ('activation' in layer) add(ACTIVATION_KERNELS[layer.activation]);
	}
	return [...k];
}

export function missingKernels(tf: Tf, spec: ModelSpec, backend: string): string[] {
	return requiredKernels(spec).filter((name) => !tf.getKernel(name, backend));
}

/** Switches to a backend: true, or why not (unregistered, failed, or hung past the timeout). */
export async function initBackend(tf: Tf, name: string, timeoutMs: number): Promise<true | string> {
	if (!tf.findBackendFactory(name)) return 'not registered';
	try {
		const ok = await withTimeout(tf.setBackend(name), timeoutMs);
		if (ok === TIMEOUT) {
			// Drop the hung init so that tf.ready() and other backends keep working.
			tf.removeBackend(name);
			return `init timed out after ${timeoutMs} ms`;
		}
		if (!ok || tf.getBackend() !== name) return `init failed (now ${tf.getBackend()})`;
		return true;
	} catch (e) {
		return `init failed: ${(e as Error).message}`;
	}
}

/** Random pixels and targets, the size of one batch; the loss value is irrelevant for timing. */
function syntheticBatch(spec: ModelSpec, batchSize: number): LabelledData {
	const size = inputSize(spec);
	const images = new Uint8Array(batchSize * size);
	let s = 12345;
	for (let i = 0; i < images.length; i++) images[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
	const o = spec.objective;
	if (o.type === 'regression') {
		const targets = new Float32Array(batchSize * o.outputs);
		for (let i = 0; i < targets.length; i++) targets[i] = images[i] / 128 - 1;
		return { count: batchSize, images, labels: targets };
	}
	const labels = new Uint8Array(batchSize);
	for (let i = 0; i < batchSize; i++) labels[i] = i % o.numClasses;
	return { count: batchSize, images, labels };
}

type Measured = { warmupMs: number; msPerStep?: number };

/** One warm-up step (shader compiles, wasm tiering), then timedSteps steps unless over the cap. */
async function timeTraining(tf: Tf, spec: ModelSpec, batch: LabelledData, o: Required<Omit<ChooseBackendOptions, 'gpu'>>): Promise<Measured> {
	const model = buildModel(tf, spec, o.seed);
	try {
		const hp = { localEpochs: 1, batchSize: o.batchSize, learningRate: 0.01 };
		const options = { seed: o.seed, objective: spec.objective };
		const warm = await trainLocal(tf, model, batch, hp, options);
		if (warm.trainMs > o.warmupCapMs) return { warmupMs: warm.trainMs };
		const run = await trainLocal(tf, model, batch, { ...hp, localEpochs: o.timedSteps }, options);
		return { warmupMs: warm.trainMs, msPerStep: Math.round((run.trainMs / run.steps) * 10) / 10 };
	} finally {
		model.dispose();
	}
}

function fmt(ms: number): string {
	return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1).replace(/\.0$/, '') : ms.toFixed(1);
}

/**
 * Picks the backend that trains this spec fastest here (rule from FACTS.md): a hardware WebGPU
 * adapter wins outright; otherwise every candidate that has the needed kernels and initialises
 * is timed on one synthetic batch and the fastest is kept. Leaves tf on the chosen backend.
 */
export async function chooseBackend(tf: Tf, spec: ModelSpec, candidates: readonly string[], options: ChooseBackendOptions): Promise<BackendChoice> {
	const o = {
		batchSize: options.batchSize,
		seed: options.seed ?? 1,
		initTimeoutMs: options.initTimeoutMs ?? 15_000,
		warmupCapMs: options.warmupCapMs ?? 5_000,
		timedSteps: Math.max(1, options.timedSteps ?? 2)
	};
	const timings: Record<string, number | string> = {};
	let adapter: AdapterKind = { kind: 'none', note: '' };

	if (candidates.includes('webgpu')) {
		adapter = await probeWebGpuAdapter(options.gpu === undefined ? defaultGpu() : options.gpu);
		if (adapter.kind === 'hardware') {
			const missing = missingKernels(tf, spec, 'webgpu');
			const init = missing.length ? `missing kernel ${missing.join(', ')}` : await initBackend(tf, 'webgpu', o.initTimeoutMs);
			if (init === true) {
				timings.webgpu = 'hardware adapter, not timed';
				return { backend: 'webgpu', reason: `webgpu: ${adapter.note}`, timings };
			}
			timings.webgpu = init;
		} else if (adapter.kind === 'none') {
			timings.webgpu = adapter.note;
		}
	}

	const batch = syntheticBatch(spec, o.batchSize);
	const measured: Record<string, Measured> = {};
	// A software WebGPU adapter is tried last: it is the slowest in every measurement so far.
	const order = [...candidates.filter((c) => c !== 'webgpu'), ...candidates.filter((c) => c === 'webgpu')];
	for (const name of order) {
		if (timings[name] !== undefined) continue;
		const missing = missingKernels(tf, spec, name);
		if (missing.length) {
			timings[name] = `missing kernel ${missing.join(', ')}`;
			continue;
		}
		const init = await initBackend(tf, name, o.initTimeoutMs);
		if (init !== true) {
			timings[name] = init;
			continue;
		}
		try {
			const m = await timeTraining(tf, spec, batch, o);
			measured[name] = m;
			timings[name] = m.msPerStep ?? `warm-up ${fmt(m.warmupMs)} ms > cap ${o.warmupCapMs} ms`;
		} catch (e) {
			timings[name] = `training failed: ${(e as Error).message}`;
		}
	}

	const names = Object.keys(measured);
	if (names.length === 0) {
		throw new Error(`no backend can train ${spec.name}: ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join('; ')}`);
	}
	// Timed backends by ms/step; if every one hit the cap, the fastest warm-up.
	const timed = names.filter((n) => measured[n].msPerStep !== undefined);
	const best = timed.length
		? timed.reduce((a, b) => (measured[b].msPerStep! < measured[a].msPerStep! ? b : a))
		: names.reduce((a, b) => (measured[b].warmupMs < measured[a].warmupMs ? b : a));
	const init = await initBackend(tf, best, o.initTimeoutMs);
	if (init !== true) throw new Error(`backend ${best} was measured but cannot be re-selected: ${init}`);

	// Timed backends first, then those stopped at the cap (shown as >warm-up).
	const score = (n: string) => measured[n].msPerStep ?? 1e9 + measured[n].warmupMs;
	const ranked = names.sort((a, b) => score(a) - score(b)).map((n) => `${n} ${measured[n].msPerStep !== undefined ? fmt(measured[n].msPerStep!) : `>${fmt(measured[n].warmupMs)}`}`);
	const head = timed.length
		? `${best}: ${fmt(measured[best].msPerStep!)} ms/step`
		: `${best}: every backend over the ${o.warmupCapMs} ms warm-up cap, ${best} warm-up ${fmt(measured[best].warmupMs)} ms`;
	const skipped = Object.entries(timings)
		.filter(([n, v]) => typeof v === 'string' && !measured[n] && !(n === 'webgpu' && adapter.kind === 'none'))
		.map(([n, v]) => `${n} ${v}`);
	const parts = [names.length > 1 ? `${head}, fastest of ${ranked.join(', ')}` : head, ...skipped];
	if (candidates.includes('webgpu')) parts.push(adapter.note);
	return { backend: best, reason: parts.join('; '), timings };
}
