/** For one output index: the source indexes it reads and their weights (summing to 1). */
interface Taps {
	index: Int32Array;
	weight: Float64Array;
	start: Int32Array;
}

/**
 * Sampling along one axis. Shrinking averages the source pixels each output pixel covers, by
 * area (no aliasing when a photo becomes 32 pixels wide); enlarging interpolates linearly
 * between the two nearest source pixel centres (edges clamped). Equal sizes copy.
 */
function axisTaps(from: number, to: number): Taps {
	const scale = from / to;
	const index: number[] = [];
	const weight: number[] = [];
	const start = new Int32Array(to + 1);
	for (let i = 0; i < to; i++) {
		start[i] = index.length;
		if (scale >= 1) {
			const lo = i * scale;
			const hi = (i + 1) * scale;
			for (let j = Math.floor(lo); j < Math.min(from, Math.ceil(hi)); j++) {
				const overlap = Math.min(hi, j + 1) - Math.max(lo, j);
				if (overlap > 1e-12) {
					index.push(j);
					weight.push(overlap / scale);
				}
			}
		} else {
			const x = Math.min(from - 1, Math.max(0, (i + 0.5) * scale - 0.5));
			const j = Math.floor(x);
			const f = x - j;
			index.push(j);
			weight.push(1 - f);
			if (f > 0) {
				index.push(Math.min(from - 1, j + 1));
				weight.push(f);
			}
		}
	}
	start[to] = index.length;
	return { index: Int32Array.from(index), weight: Float64Array.from(weight), start };
}

/**
 * Resizes interleaved 8-bit pixels (HWC) to dstWidth x dstHeight: area averaging where an axis
 * shrinks, bilinear where it grows, separably (rows, then columns), rounded once at the end.
 */
export function resizePixels(src: Uint8Array, srcWidth: number, srcHeight: number, channels: number, dstWidth: number, dstHeight: number): Uint8Array {
	if (src.length !== srcWidth * srcHeight * channels) {
		throw new RangeError(`pixels has ${src.length} values, expected ${srcWidth} x ${srcHeight} x ${channels}`);
	}
	if (srcWidth === dstWidth && srcHeight === dstHeight) return src.slice();
	const xs = axisTaps(srcWidth, dstWidth);
	const ys = axisTaps(srcHeight, dstHeight);

	const rows = new Float64Array(srcHeight * dstWidth * channels);
	for (let y = 0; y < srcHeight; y++) {
		const srcRow = y * srcWidth * channels;
		const outRow = y * dstWidth * channels;
		for (let x = 0; x < dstWidth; x++) {
			for (let t = xs.start[x]; t < xs.start[x + 1]; t++) {
				const from = srcRow + xs.index[t] * channels;
				const w = xs.weight[t];
				for (let c = 0; c < channels; c++) rows[outRow + x * channels + c] += w * src[from + c];
			}
		}
	}

	const out = new Uint8Array(dstWidth * dstHeight * channels);
	const line = dstWidth * channels;
	const acc = new Float64Array(line);
	for (let y = 0; y < dstHeight; y++) {
		acc.fill(0);
		for (let t = ys.start[y]; t < ys.start[y + 1]; t++) {
			const from = ys.index[t] * line;
			const w = ys.weight[t];
			for (let k = 0; k < line; k++) acc[k] += w * rows[from + k];
		}
		for (let k = 0; k < line; k++) out[y * line + k] = Math.min(255, Math.max(0, Math.round(acc[k])));
	}
	return out;
}
