import { DataImportError } from '@qflare/data-import';

/**
 * A failed import or prediction as the page receives it: DataImportError's sentences, or the
 * error's message. A plain value, since an Error's own fields are lost crossing Comlink.
 */
export function failure(error: unknown): { ok: false; problems: string[] } {
	if (error instanceof DataImportError) return { ok: false, problems: error.problems };
	return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
}
