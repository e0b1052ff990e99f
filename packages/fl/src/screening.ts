import { checkUpdate, clipToNorm } from './validation';

export type ScreenRejectCode = 'WRONG_SHAPE' | 'NON_FINITE' | 'NORM_TOO_LARGE';

export interface ScreenOptions {
	expectedLength: number;
	/** L2 bound on an update; absent means no norm screening. */
	maxNorm?: number;
	/** Over the bound: 'reject' drops the update, 'clip' scales it down to the bound. */
	normPolicy: 'reject' | 'clip';
}

export type ScreenResult =
	| { ok: true; delta: Float32Array; l2Norm: number; clipped: boolean }
	| { ok: false; code: ScreenRejectCode; message: string };

/**
 * Shape, finiteness and norm screening in one pass order: cheap checks first, and a norm is
 * only meaningful once every value is finite. l2Norm reports the norm as received.
 */
export function screenUpdate(delta: Float32Array, options: ScreenOptions): ScreenResult {
	const check = checkUpdate(delta, options.expectedLength);
	if (!check.ok) return check;
	const { maxNorm } = options;
	if (maxNorm === undefined || check.l2Norm <= maxNorm) {
		return { ok: true, delta, l2Norm: check.l2Norm, clipped: false };
	}
	if (options.normPolicy === 'reject') {
		return { ok: false, code: 'NORM_TOO_LARGE', message: `update norm ${check.l2Norm} exceeds the bound ${maxNorm}` };
	}
	const clipped = clipToNorm(delta, maxNorm);
	return { ok: true, delta: clipped.delta, l2Norm: check.l2Norm, clipped: true };
}
