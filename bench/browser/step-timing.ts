// Times training steps of one model on one tfjs backend. Runs in the browser bench worker and
// in Node, so both report the same quantity: one trainLocal call over exactly one batch.
import { buildModel, initBackend, missingKernels, syntheticDigits, trainLocal, MODEL_SPECS, type Tf } from '@qflare/trainer';

export type BenchModel = 'mlp' | 'cnn';

export interface StepTiming {
	model: BenchModel;
	backend: string;
	/** Set when the backend could not train the model here: missing kernel, failed init, error. */
	unavailable?: string;
	/** First step: shader compilation, wasm tiering, kernel caches. Not in stepsMs. */
	warmupMs?: number;
	stepsMs: number[];
	/** True when the time budget cut the step count below the requested number. */
	capped?: boolean;
}

export interface StepTimingOptions {
	batchSize: number;
	steps: number;
	/** Stop adding steps once warm-up plus steps exceed this (CNN on cpu takes ~10 s a step). */
	budgetMs: number;
	initTimeoutMs: number;
}

export async function timeSteps(tf: Tf, model: BenchModel, backend: string, o: StepTimingOptions): Promise<StepTiming> {
	const spec = MODEL_SPECS[model];
	const result: StepTiming = { model, backend, stepsMs: [] };
	const init = await initBackend(tf, backend, o.initTimeoutMs);
	if (init !== true) return { ...result, unavailable: init };
	const missing = missingKernels(tf, spec, backend);
	if (missing.length) return { ...result, unavailable: `missing kernel ${missing.join(', ')}` };
	const batch = syntheticDigits(o.batchSize, 7);
	const built = buildModel(tf, spec, 1);
	const hp = { localEpochs: 1, batchSize: o.batchSize, learningRate: 0.01 };
	try {
		const started = performance.now();
		const warm = await trainLocal(tf, built, batch, hp, { seed: 1 });
		result.warmupMs = warm.trainMs;
		for (let i = 0; i < o.steps; i++) {
			if (i > 0 && performance.now() - started > o.budgetMs) {
				result.capped = true;
				break;
			}
			const r = await trainLocal(tf, built, batch, hp, { seed: i + 2 });
			result.stepsMs.push(r.trainMs / r.steps);
		}
		return result;
	} catch (e) {
		return { ...result, unavailable: `training failed: ${(e as Error).message}` };
	} finally {
		built.dispose();
	}
}
