import {
	DataImportError,
	labelImageFiles,
	normalizePath,
	preparedByteLength,
	prepareCsv,
	prepareImages,
	ProblemList,
	skippedImageFiles,
	storageQuotaProblem,
	type ImageEntry,
	type PreparedData
} from '@qflare/data-import';
import { buildPreview, storedPreview } from '../participant/import-preview';
import { saveDataset } from '../participant/local-db';
import { failure } from './failure';
import { imagePixels } from './image-pixels';
import type { ImportOutcome, ImportProgress, TrainerWorkerApi } from './trainer-api';

type Progress = ((p: ImportProgress) => void) | undefined;

/** Images decoded at once: createImageBitmap decodes off the worker's thread, a few in flight keep it busy. */
const DECODE_CONCURRENCY = 4;

function report(onProgress: Progress, p: ImportProgress): void {
	// A Comlink proxy returns a promise; a page that went away must not fail the import.
	const r = onProgress?.(p) as unknown;
	if (r instanceof Promise) r.catch(() => undefined);
}

/** Checks the quota, then stores the prepared tensors and, beside them, the preview under the project. */
async function store(projectId: string, prepared: PreparedData, onProgress: Progress): Promise<ImportOutcome> {
	const bytes = preparedByteLength(prepared);
	const estimate = typeof navigator !== 'undefined' && navigator.storage?.estimate ? await navigator.storage.estimate() : {};
	const problem = storageQuotaProblem(bytes, estimate);
	if (problem) return { ok: false, problems: [problem] };
	report(onProgress, { stage: 'saving', done: 0, total: 1 });
	const preview = buildPreview(prepared);
	const importedAt = new Date().toISOString();
	await saveDataset(projectId, { prepared, importedAt }, storedPreview(prepared, preview, importedAt));
	report(onProgress, { stage: 'saving', done: 1, total: 1 });
	return { ok: true, preview };
}

export const importCsv: TrainerWorkerApi['importCsv'] = async (projectId, file, task, split, onProgress) => {
	try {
		report(onProgress, { stage: 'reading', done: 0, total: 1 });
		const text = await file.text();
		report(onProgress, { stage: 'checking', done: 0, total: 1 });
		const prepared = prepareCsv(text, task, split, file.name);
		return await store(projectId, prepared, onProgress);
	} catch (error) {
		return failure(error);
	}
};

export const importImages: TrainerWorkerApi['importImages'] = async (projectId, files, labelsCsv, task, split, onProgress) => {
	try {
		report(onProgress, { stage: 'reading', done: 0, total: files.length });
		const paths = files.map((f) => f.path);
		const labelled = labelImageFiles(paths, task, labelsCsv ? await labelsCsv.text() : undefined);
		const byPath = new Map(files.map((f) => [normalizePath(f.path), f.file]));
		const entries: (ImageEntry | null)[] = new Array(labelled.length).fill(null);
		const problems = new ProblemList();
		let next = 0;
		let done = 0;
		let reportedAt = 0;
		const decodeSome = async () => {
			while (next < labelled.length) {
				const i = next++;
				const { path, label } = labelled[i];
				const file = byPath.get(path);
				try {
					if (!file) throw new DataImportError([`${path} was listed but cannot be read`]);
					entries[i] = { name: path, label, pixels: await imagePixels(file, task, path) };
				} catch (error) {
					const found = error instanceof DataImportError ? error.problems : [`${path}: ${(error as Error).message}`];
					for (const problem of found) problems.add(problem);
				}
				done++;
				const now = performance.now();
				if (now - reportedAt > 100 || done === labelled.length) {
					reportedAt = now;
					report(onProgress, { stage: 'decoding', done, total: labelled.length });
				}
			}
		};
		await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, labelled.length) }, decodeSome));
		problems.throwIfAny();
		report(onProgress, { stage: 'checking', done: 0, total: 1 });
		const root = paths.find((p) => p.includes('/'))?.split('/')[0];
		const prepared = prepareImages(entries as ImageEntry[], task, split, {
			source: root ?? `${files.length} picked images`,
			skipped: skippedImageFiles(paths)
		});
		return await store(projectId, prepared, onProgress);
	} catch (error) {
		return failure(error);
	}
};
