// Rényi-DP accounting for the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
// "Rényi Differential Privacy of the Sampled Gaussian Mechanism"), following TF Privacy's
// rdp_accountant.compute_rdp. All sums run in log space: the terms reach exp(±hundreds).

/** The orders TF Privacy / dp_accounting use by default. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
	1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
	...Array.from({ length: 59 }, (_, i) => i + 5),
	128, 256, 512
];

function logAdd(logX: number, logY: number): number {
	const a = Math.min(logX, logY);
	const b = Math.max(logX, logY);
	if (a === -Infinity) return b;
	return Math.log1p(Math.exp(a - b)) + b;
}

function logSub(logX: number, logY: number): number {
	if (logX < logY) throw new Error('log-space subtraction would be negative');
	if (logY === -Infinity) return logX;
	if (logX === logY) return -Infinity;
	const diff = logX - logY;
	// expm1 overflows above ~709; then log(expm1(d)) is d to double precision.
	return diff > 700 ? logX : Math.log(Math.expm1(diff)) + logY;
}

/** log(erfc(x)), accurate in the far tail where erfc itself underflows. */
export function logErfc(x: number): number {
	if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
	if (x <= 2) {
		// erf(x) = 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (1*3*...*(2n+1)): positive terms, no cancellation.
		let term = x;
		let sum = x;
		for (let n = 1; n < 200; n++) {
			term *= (2 * x * x) / (2 * n + 1);
			sum += term;
			if (term < sum * 1e-17) break;
		}
		return Math.log1p(-(2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum);
	}
	// erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), modified Lentz.
	const tiny = 1e-300;
	let f = x;
	let c = x;
	let d = 0;
	for (let k = 1; k < 5000; k++) {
		const a = k / 2;
		d = x + a * d;
		d = d === 0 ? tiny : d;
		c = x + a / c;
		c = c === 0 ? tiny : c;
		d = 1 / d;
		const step = c * d;
		f *= step;
		if (Math.abs(step - 1) < 1e-16) break;
	}
	return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** log A_alpha for integer alpha by the binomial expansion (Mironov et al. 2019, Sec. 3.3). */
function logAInteger(q: number, sigma: number, alpha: number): number {
	let logA = -Infinity;
	let logBinom = 0; // log C(alpha, i), built incrementally
	for (let i = 0; i <= alpha; i++) {
		if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
		const logCoef = logBinom + i * Math.log(q) + (alpha - i) * Math.log1p(-q);
		logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
	}
	return logA;
}

/** log A_alpha for fractional alpha: the two-sided series of Mironov et al. 2019, Sec. 3.3. */
function logAFractional(q: number, sigma: number, alpha: number): number {
	let logA0 = -Infinity;
	let logA1 = -Infinity;
	const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
	let logAbsCoef = 0; // log |C(alpha, i)|
	let coefSign = 1;
	for (let i = 0; ; i++) {
		if (i > 0) {
			const factor = (alpha - i + 1) / i;
			logAbsCoef += Math.log(Math.abs(factor));
			if (factor < 0) coefSign = -coefSign;
		}
		const j = alpha - i;
		const logT0 = logAbsCoef + i * Math.log(q) + j * Math.log1p(-q);
		const logT1 = logAbsCoef + j * Math.log(q) + i * Math.log1p(-q);
		const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
		const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
		const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
		const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
		if (coefSign > 0) {
			logA0 = logAdd(logA0, logS0);
			logA1 = logAdd(logA1, logS1);
		} else {
			logA0 = logSub(logA0, logS0);
			logA1 = logSub(logA1, logS1);
		}
		if (Math.max(logS0, logS1) < -30) break;
	}
	return logAdd(logA0, logA1);
}

function rdpOneStep(q: number, sigma: number, alpha: number): number {
	if (q === 0) return 0;
	if (sigma === 0) return Infinity;
	if (q === 1) return alpha / (2 * sigma * sigma);
	if (!Number.isFinite(alpha)) return Infinity;
	const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
	return logA / (alpha - 1);
}

/**
 * RDP at each order of the sampled Gaussian mechanism with sampling rate q and noise
 * multiplier sigma (noise std / L2 sensitivity), composed over `steps` applications.
 */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
	if (!(q >= 0 && q <= 1)) throw new Error(`sampling rate q must be in [0, 1], got ${q}`);
	if (!(noiseMultiplier >= 0)) throw new Error(`noise multiplier must be >= 0, got ${noiseMultiplier}`);
	if (!(steps >= 0)) throw new Error(`steps must be >= 0, got ${steps}`);
	return orders.map((alpha) => {
		if (!(alpha > 1)) throw new Error(`RDP orders must be > 1, got ${alpha}`);
		return rdpOneStep(q, noiseMultiplier, alpha) * steps;
	});
}

/**
 * How RDP turns into (epsilon, delta):
 * - 'canonne2020' (the default, the one Qflare reports): eps = rdp + log((alpha-1)/alpha)
 *   - (log(delta) + log(alpha))/(alpha-1) (Canonne, Kamath, Steinke 2020, Prop. 12; Balle et al.
 *   2020, Thm. 21). Opacus' get_privacy_spent and dp_accounting's RdpAccountant use it;
 *   dp_accounting also takes eps = 0 where the KL bound delta <= sqrt(1 - exp(-rdp)) holds and
 *   skips orders <= 1.01, and so does this. Never larger than 'classic'.
 * - 'classic': eps = rdp - log(delta)/(alpha-1) (Mironov 2017, Prop. 3), what Abadi et al.'s
 *   moments accountant and TF Privacy's get_privacy_spent (through 2020) report.
 */
export type RdpConversion = 'classic' | 'canonne2020';

function epsilonAtOrder(alpha: number, rdp: number, delta: number, conversion: RdpConversion): number {
	if (conversion === 'classic') return rdp - Math.log(delta) / (alpha - 1);
	// The KL bound delta <= sqrt(1 - exp(-rdp)) already gives eps = 0.
	if (delta * delta + Math.expm1(-rdp) > 0) return 0;
	// Numerically unstable as alpha -> 1, and never the optimum there.
	if (alpha <= 1.01) return Infinity;
	return rdp + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
}

/** Smallest epsilon over the orders for the given delta, and the order that attains it. */
export function epsilonFromRdp(
	orders: readonly number[],
	rdp: readonly number[],
	delta: number,
	conversion: RdpConversion = 'canonne2020'
): { epsilon: number; order: number } {
	if (orders.length !== rdp.length) throw new Error('orders and rdp must have the same length');
	if (orders.length === 0) throw new Error('at least one order is needed');
	if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), got ${delta}`);
	let best = { epsilon: Infinity, order: orders[0] };
	for (let k = 0; k < orders.length; k++) {
		const alpha = orders[k];
		const r = rdp[k];
		if (!(alpha > 1)) throw new Error(`RDP orders must be > 1, got ${alpha}`);
		if (!(r >= 0)) throw new Error(`RDP values must be >= 0, got ${r}`);
		const epsilon = epsilonAtOrder(alpha, r, delta, conversion);
		if (epsilon < best.epsilon) best = { epsilon, order: alpha };
	}
	return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/** Epsilon under both conversions, each with the order that attains it. */
export interface EpsilonBoth {
	/** The reported value: the Canonne-Kamath-Steinke conversion. */
	epsilon: number;
	order: number;
	/** The classic conversion of the same RDP curve, for comparison (always >= epsilon). */
	epsilonClassic: number;
	orderClassic: number;
}

/** Converts one RDP curve with both conversions. */
export function epsilonsFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): EpsilonBoth {
	const tight = epsilonFromRdp(orders, rdp, delta, 'canonne2020');
	const classic = epsilonFromRdp(orders, rdp, delta, 'classic');
	return { epsilon: tight.epsilon, order: tight.order, epsilonClassic: classic.epsilon, orderClassic: classic.order };
}

/** One sampled Gaussian round: the share of devices selected, and the noise std in units of the clip. */
export interface GaussianRound {
	sampleRate: number;
	noiseMultiplier: number;
}

/**
 * Privacy spent by a run of sampled Gaussian rounds whose sampling rate and noise may differ per
 * round (a secure round whose devices add the noise carries less when some drop): RDP composes by
 * addition at each order, then converts once (both ways).
 */
export function epsilonAfterRounds(rounds: readonly GaussianRound[], delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): EpsilonBoth {
	const total = new Array<number>(orders.length).fill(0);
	for (const { sampleRate, noiseMultiplier } of rounds) {
		const rdp = computeRdp(sampleRate, noiseMultiplier, 1, orders);
		for (let i = 0; i < total.length; i++) total[i] += rdp[i];
	}
	return epsilonsFromRdp(orders, total, delta);
}
