// How numbers and times read in the UI; shared by the dashboard and the participant page.

export function percent(v: number | null | undefined, digits = 1): string {
	return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`;
}

export function decimal(v: number | null | undefined, digits = 3): string {
	return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

export function duration(ms: number | null | undefined): string {
	if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
	if (ms < 1_000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
	const m = Math.floor(ms / 60_000);
	return `${m} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** "12 s ago" style; absolute time beyond a day. */
export function ago(iso: string, now = Date.now()): string {
	const t = Date.parse(iso);
	if (!Number.isFinite(t)) return '–';
	const s = Math.max(0, Math.round((now - t) / 1_000));
	if (s < 60) return `${s} s ago`;
	if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
	if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
	return new Date(t).toLocaleString();
}

export function shortId(id: string | null | undefined, chars = 8): string {
	return id ? id.slice(0, chars) : '–';
}
