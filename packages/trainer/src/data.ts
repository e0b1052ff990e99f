/** Images with labels, the protocol's LabelledSet shape: `count` rows of 0..255 pixels. */
export type LabelledData = { count: number; images: Uint8Array; labels: Uint8Array };

export function checkData(data: LabelledData, sampleSize: number, numClasses: number): void {
	if (!(data.count > 0)) throw new RangeError('data set is empty');
	if (data.images.length !== data.count * sampleSize) {
		throw new RangeError(`images has ${data.images.length} values, expected ${data.count} x ${sampleSize}`);
	}
	if (data.labels.length !== data.count) throw new RangeError(`labels has ${data.labels.length} entries, expected ${data.count}`);
	for (let i = 0; i < data.count; i++) {
		if (data.labels[i] >= numClasses) throw new RangeError(`label ${data.labels[i]} at ${i} is not below ${numClasses}`);
	}
}

/** Copies the chosen rows into a float batch scaled to [0, 1]. */
export function gatherBatch(data: LabelledData, sampleSize: number, indices: ArrayLike<number>, start: number, end: number) {
	const n = end - start;
	const x = new Float32Array(n * sampleSize);
	const y = new Int32Array(n);
	for (let r = 0; r < n; r++) {
		const idx = indices[start + r];
		const src = idx * sampleSize;
		for (let j = 0; j < sampleSize; j++) x[r * sampleSize + j] = data.images[src + j] * (1 / 255);
		y[r] = data.labels[idx];
	}
	return { x, y, n };
}

/** mulberry32: small, fast, good enough for shuffling. */
export function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Fisher-Yates permutation of 0..count-1 for a given seed. */
export function shuffledIndices(count: number, seed: number): Uint32Array {
	const idx = new Uint32Array(count);
	for (let i = 0; i < count; i++) idx[i] = i;
	const rand = mulberry32(seed);
	for (let i = count - 1; i > 0; i--) {
		const j = Math.floor(rand() * (i + 1));
		const t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	return idx;
}
