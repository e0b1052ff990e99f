import type { PreparedData } from './prepared-data';

/** "1.5 MB": decimal units, as browsers and file managers show sizes. */
export function formatBytes(bytes: number): string {
	if (bytes < 1000) return `${Math.round(bytes)} bytes`;
	const units = ['kB', 'MB', 'GB', 'TB'];
	let value = bytes / 1000;
	let unit = 0;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit++;
	}
	return `${value.toFixed(1)} ${units[unit]}`;
}

/** Bytes the prepared arrays take when stored (IndexedDB keeps typed arrays as they are). */
export function preparedByteLength(data: PreparedData): number {
	const split = (s: PreparedData['train'] | null) => (s ? s.inputs.byteLength + s.targets.byteLength : 0);
	return split(data.train) + split(data.holdOut);
}

/**
 * A clear sentence when storing `bytesNeeded` would exceed what the browser allows this site
 * (navigator.storage.estimate()), or null when it fits or the browser does not say.
 */
export function storageQuotaProblem(bytesNeeded: number, estimate: { quota?: number; usage?: number }): string | null {
	const { quota } = estimate;
	if (quota === undefined || !Number.isFinite(quota)) return null;
	const usage = estimate.usage ?? 0;
	if (usage + bytesNeeded <= quota) return null;
	const free = Math.max(0, quota - usage);
	return (
		`The prepared data needs ${formatBytes(bytesNeeded)}, but this browser lets this site store only ${formatBytes(free)} more ` +
		`(quota ${formatBytes(quota)}, ${formatBytes(usage)} in use). Free up disk space, delete other data this site keeps, or import fewer files.`
	);
}
