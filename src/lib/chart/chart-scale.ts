export interface Point {
	x: number;
	y: number;
}

export interface ChartSeries {
	name: string;
	color: string;
	/** Left axis: fixed 0..leftMax; right axis: 0..the data's nice maximum. */
	axis: 'left' | 'right';
	points: Point[];
	format?: (v: number) => string;
}

export type Scale = (value: number) => number;

/** Maps [d0, d1] linearly onto [r0, r1]; a zero-width domain maps to the range's middle. */
export function linearScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
	const span = d1 - d0;
	if (span === 0) return () => (r0 + r1) / 2;
	return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
	if (!Number.isFinite(min) || !Number.isFinite(max) || count < 1) return [];
	if (min === max) return [min];
	const raw = (max - min) / count;
	const power = 10 ** Math.floor(Math.log10(raw));
	const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
	const first = Math.ceil(min / step - 1e-9);
	const last = Math.floor(max / step + 1e-9);
	const ticks: number[] = [];
	// Multiplying instead of accumulating keeps 0.1 + 0.2-style drift out of the labels.
	for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
	return ticks;
}

/** Upper bound of a value axis that starts at zero: the max rounded up to a nice step. */
export function niceMax(values: number[], fallback = 1): number {
	const finite = values.filter(Number.isFinite);
	const max = finite.length ? Math.max(...finite) : 0;
	if (!(max > 0)) return fallback;
	const power = 10 ** Math.floor(Math.log10(max));
	const nice = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power).find((v) => v >= max);
	return nice ?? 10 * power;
}

/**
 * SVG path through the points, skipping non-finite values by starting a new segment
 * (a round without a test score leaves a gap instead of a dive to zero).
 */
export function linePath(points: Point[], sx: Scale, sy: Scale): string {
	let path = '';
	let pen = false;
	for (const p of points) {
		if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
			pen = false;
			continue;
		}
		path += `${pen ? 'L' : 'M'}${round2(sx(p.x))},${round2(sy(p.y))}`;
		pen = true;
	}
	return path;
}

function round2(v: number): number {
	return Math.round(v * 100) / 100;
}
