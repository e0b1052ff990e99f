import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium';

export interface ChartPoint {
	round: number;
	accuracy: number | null;
	loss: number | null;
}

const W = 800;
const H = 420;
const PAD = { left: 64, right: 64, top: 48, bottom: 52 };

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function niceMax(x: number): number {
	if (!(x > 0)) return 1;
	const p = 10 ** Math.floor(Math.log10(x));
	return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= x) ?? 10 * p;
}

/**
 * Accuracy (left axis, %) and loss (right axis) per committed round (by default the server's
 * test set; local-data runs chart their federated evaluation) as a standalone
 * SVG document. Hand-written SVG keeps the runner free of charting dependencies.
 */
export interface ChartLabels {
	/** Left axis, a share in [0, 1] shown as %. */
	accuracy: string;
	/** Right axis, scaled to its largest value. */
	loss: string;
}

export function chartSvg(points: readonly ChartPoint[], title: string, labels: ChartLabels = { accuracy: 'test accuracy', loss: 'test loss' }): string {
	const rounds = points.map((p) => p.round);
	const xMin = Math.min(...rounds, 1);
	const xMax = Math.max(...rounds, xMin + 1);
	const losses = points.map((p) => p.loss).filter((l): l is number => l !== null);
	const lossMax = niceMax(Math.max(...losses, 0));
	const plotW = W - PAD.left - PAD.right;
	const plotH = H - PAD.top - PAD.bottom;
	const x = (r: number): number => PAD.left + ((r - xMin) / (xMax - xMin)) * plotW;
	const yAcc = (a: number): number => PAD.top + (1 - a) * plotH;
	const yLoss = (l: number): number => PAD.top + (1 - l / lossMax) * plotH;
	const line = (pick: (p: ChartPoint) => number | null, y: (v: number) => number): string =>
		points
			.filter((p) => pick(p) !== null)
			.map((p, i) => `${i ? 'L' : 'M'}${x(p.round).toFixed(1)},${y(pick(p) as number).toFixed(1)}`)
			.join(' ');
	const dots = (pick: (p: ChartPoint) => number | null, y: (v: number) => number, color: string): string =>
		points
			.filter((p) => pick(p) !== null)
			.map((p) => `<circle cx="${x(p.round).toFixed(1)}" cy="${y(pick(p) as number).toFixed(1)}" r="3.5" fill="${color}"/>`)
			.join('');

	const xStep = Math.max(1, Math.ceil((xMax - xMin) / 10));
	const xTicks: string[] = [];
	for (let r = xMin; r <= xMax; r += xStep) {
		xTicks.push(`<text x="${x(r)}" y="${H - PAD.bottom + 20}" text-anchor="middle">${r}</text>`);
	}
	const yTicks: string[] = [];
	for (let i = 0; i <= 5; i++) {
		const f = i / 5;
		const y = PAD.top + (1 - f) * plotH;
		yTicks.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
		yTicks.push(`<text x="${PAD.left - 8}" y="${y + 4}" text-anchor="end" fill="#2563eb">${(f * 100).toFixed(0)}%</text>`);
		yTicks.push(`<text x="${W - PAD.right + 8}" y="${y + 4}" fill="#dc2626">${+(f * lossMax).toPrecision(3)}</text>`);
	}
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
${yTicks.join('\n')}
${xTicks.join('\n')}
<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#6b7280"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">round</text>
<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#2563eb">${esc(labels.accuracy)}</text>
<text transform="translate(${W - 16} ${PAD.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#dc2626">${esc(labels.loss)}</text>
<path d="${line((p) => p.accuracy, yAcc)}" fill="none" stroke="#2563eb" stroke-width="2.5"/>
<path d="${line((p) => p.loss, yLoss)}" fill="none" stroke="#dc2626" stroke-width="2.5" stroke-dasharray="6 4"/>
${dots((p) => p.accuracy, yAcc, '#2563eb')}
${dots((p) => p.loss, yLoss, '#dc2626')}
</svg>`;
}

/** Renders the SVG in headless Chromium and saves a PNG screenshot of it. */
export async function renderPng(svg: string, file: string): Promise<void> {
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const page = await browser.newPage({ viewport: { width: W, height: H } });
		await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
		await page.locator('svg').screenshot({ path: file, type: 'png' });
	} finally {
		await browser.close();
	}
}
