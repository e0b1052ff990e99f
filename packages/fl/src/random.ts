// Seeded randomness for reproducible experiments (partitions, sampling). Not for secrets:
// anything cryptographic uses WebCrypto. Math.log/sqrt/exp follow V8's fdlibm port, so a
// seed gives the same numbers in Node and Chromium.

export interface Rng {
	/** Uniform in [0, 1), 32 bits of resolution. */
	next(): number;
	/** Uniform integer in [0, n). */
	int(n: number): number;
	/** Standard normal (Box-Muller). */
	normal(): number;
	/** Gamma(shape, 1) (Marsaglia-Tsang); shape > 0. */
	gamma(shape: number): number;
}

/** mulberry32: tiny, fast, passes the usual smoke tests for simulation use. */
export function createRng(seed: number): Rng {
	if (!Number.isFinite(seed)) throw new Error('rng seed must be a finite number');
	let state = seed >>> 0;
	const next = (): number => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const normal = (): number => {
		// 1 - next() lies in (0, 1], so the log is finite.
		const u = 1 - next();
		const v = next();
		return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
	};
	const gamma = (shape: number): number => {
		if (!(shape > 0) || !Number.isFinite(shape)) throw new Error('gamma shape must be a positive finite number');
		if (shape < 1) {
			// Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
			return gamma(shape + 1) * Math.pow(1 - next(), 1 / shape);
		}
		const d = shape - 1 / 3;
		const c = 1 / Math.sqrt(9 * d);
		for (;;) {
			let x: number;
			let v: number;
			do {
				x = normal();
				v = 1 + c * x;
			} while (v <= 0);
			v = v * v * v;
			const u = 1 - next();
			if (u < 1 - 0.0331 * x * x * x * x) return d * v;
			if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
		}
	};
	return {
		next,
		int: (n) => {
			if (!Number.isInteger(n) || n <= 0) throw new Error('rng.int bound must be a positive integer');
			return Math.floor(next() * n);
		},
		normal,
		gamma
	};
}

/** Fisher-Yates in place. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
	for (let i = items.length - 1; i > 0; i--) {
		const j = rng.int(i + 1);
		const tmp = items[i];
		items[i] = items[j];
		items[j] = tmp;
	}
	return items;
}
