import { describe, expect, it } from 'vitest';
import { DEFAULT_RDP_ORDERS, computeRdp, epsilonAfterRounds, epsilonFromRdp, epsilonsFromRdp, logErfc } from './rdp-accountant';

describe('computeRdp', () => {
	it('without subsampling (q = 1) is alpha / (2 sigma^2) per step, exactly', () => {
		expect(computeRdp(1, 2, 3, [2, 4.5, 32])).toEqual([0.75, 1.6875, 12]);
	});

	it('at alpha = 2 matches the closed form log(1 + q^2 (e^{1/sigma^2} - 1))', () => {
		// A_2 = (1-q)^2 + 2q(1-q) + q^2 e^{1/sigma^2}, and RDP_2 = log A_2.
		const [rdp] = computeRdp(0.1, 1, 5, [2]);
		expect(rdp).toBeCloseTo(5 * Math.log(1 + 0.01 * (Math.E - 1)), 12);
	});

	it('joins the fractional-order series continuously to the integer-order sum', () => {
		const [atTwo, nearTwo, atThree, nearThree] = computeRdp(0.01, 1.1, 1, [2, 2.000001, 3, 2.999999]);
		expect(nearTwo / atTwo - 1).toBeLessThan(1e-4);
		expect(nearTwo).toBeGreaterThan(atTwo);
		expect(Math.abs(nearThree / atThree - 1)).toBeLessThan(1e-4);
	});

	it('is 0 without sampling and grows linearly with steps', () => {
		expect(computeRdp(0, 1, 100, [2, 8])).toEqual([0, 0]);
		const one = computeRdp(0.02, 1.3, 1, DEFAULT_RDP_ORDERS);
		const many = computeRdp(0.02, 1.3, 250, DEFAULT_RDP_ORDERS);
		many.forEach((r, i) => expect(r).toBeCloseTo(250 * one[i], 9));
	});
});

describe('epsilonFromRdp', () => {
	it('reproduces Abadi et al. 2016: q = 0.01, sigma = 4, T = 10,000, delta = 1e-5 gives eps ~ 1.26', () => {
		// "Deep Learning with Differential Privacy" (CCS 2016), Sec. 3.1: "if q = 0.01, sigma = 4,
		// delta = 1e-5, and T = 10000, then we have eps ~ 1.26 using the moments accountant".
		// The value is given to two decimals, so the tolerance is half a unit in the last: 0.005.
		// That is the classic conversion; the default one gives 1.0355 at order 17 for the same curve.
		const orders = DEFAULT_RDP_ORDERS;
		const rdp = computeRdp(0.01, 4, 10_000, orders);
		const { epsilon, order } = epsilonFromRdp(orders, rdp, 1e-5, 'classic');
		expect(Math.abs(epsilon - 1.26)).toBeLessThan(0.005);
		expect(order).toBe(20);
		expect(epsilonsFromRdp(orders, rdp, 1e-5)).toEqual({
			epsilon: expect.closeTo(1.03549, 5),
			order: 17,
			epsilonClassic: expect.closeTo(1.25857, 5),
			orderClassic: 20
		});
	});

	it('reproduces dp_accounting with the default (Canonne-Kamath-Steinke) conversion', () => {
		// google/differential-privacy, python/dp_accounting/.../rdp_privacy_accountant_test.py,
		// test_compute_epsilon_delta_pure_dp: orders 2..32, RDP 1.1 at each, delta 1e-5 gives
		// epsilon 1.32783806176 at order 32 ("computed by hand").
		const orders = Array.from({ length: 31 }, (_, i) => i + 2);
		const pure = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
		expect(pure.epsilon).toBeCloseTo(1.32783806176, 10);
		expect(pure.order).toBe(32);
		// The same file, test_compute_epsilon_delta_gaussian: the unsampled Gaussian with
		// sigma = 4.530877117 is exactly (1, 1e-6)-DP; over orders 1.001..99.999 (step 0.001) the
		// conversion gives epsilon 1 to 7 places.
		const fine = Array.from({ length: 98_999 }, (_, i) => (i + 1001) * 0.001);
		expect(epsilonFromRdp(fine, computeRdp(1, 4.530877117, 1, fine), 1e-6).epsilon).toBeCloseTo(1, 7);
	});

	it('the Canonne-Kamath-Steinke conversion is the hand formula and never looser', () => {
		// alpha 10, rdp 1, delta 1e-5: classic 1 + ln(1e5)/9; CKS 1 + ln(0.9) - ln(1e-4)/9.
		expect(epsilonFromRdp([10], [1], 1e-5, 'classic').epsilon).toBeCloseTo(1 + Math.log(1e5) / 9, 12);
		expect(epsilonFromRdp([10], [1], 1e-5).epsilon).toBeCloseTo(1 + Math.log(0.9) - Math.log(1e-4) / 9, 12);
		expect(epsilonFromRdp([10], [1], 1e-5, 'canonne2020').epsilon).toBe(epsilonFromRdp([10], [1], 1e-5).epsilon);
		// The gap at one order is log(alpha)/(alpha-1) - log((alpha-1)/alpha) > 0, so over any
		// set of orders the tight minimum is below the classic one.
		for (const [q, z, steps] of [[0.01, 4, 10_000], [0.1, 1, 1], [0.1, 1, 20], [0.5, 1.1, 100], [1, 1.1, 1]]) {
			const rdp = computeRdp(q, z, steps);
			const both = epsilonsFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-5);
			expect(both.epsilon).toBeLessThan(both.epsilonClassic);
			expect(both.epsilon).toBeGreaterThan(0.75 * both.epsilonClassic);
		}
	});

	it('gives 0 where the KL bound already covers delta, as dp_accounting does', () => {
		// delta^2 + expm1(-rdp) > 0, i.e. rdp < -log(1 - delta^2): no epsilon is needed.
		expect(epsilonFromRdp([2, 8], [1e-12, 1e-12], 0.01)).toEqual({ epsilon: 0, order: 2 });
		expect(epsilonFromRdp([2, 8], [1e-12, 1e-12], 0.01, 'classic').epsilon).toBeGreaterThan(0);
	});

	it('picks the order with the smallest epsilon and rejects malformed input', () => {
		// ln(100) = 4.6: orders 2, 3, 4 give 5 + 4.6/2, 0.5 + 4.6/2, 2 + 4.6/3; order 3 wins.
		expect(epsilonFromRdp([2, 3, 4], [5, 0.5, 2], 0.01, 'classic')).toEqual({ epsilon: 0.5 - Math.log(0.01) / 2, order: 3 });
		// The tight one at the same points: 5 + ln(1/2) + ln(50), 0.5 + ln(2/3) + ln(100/3)/2, 2 + ln(3/4) + ln(25)/3.
		expect(epsilonFromRdp([2, 3, 4], [5, 0.5, 2], 0.01)).toEqual({ epsilon: expect.closeTo(0.5 + Math.log(2 / 3) + Math.log(100 / 3) / 2, 12), order: 3 });
		expect(() => epsilonFromRdp([2, 3], [1], 1e-5)).toThrow();
		expect(() => epsilonFromRdp([2], [1], 0)).toThrow(/delta/);
	});
});

describe('logErfc', () => {
	it('matches tabulated erfc values, including where erfc underflows', () => {
		expect(logErfc(0.5)).toBeCloseTo(Math.log(0.4795001221869535), 12);
		expect(logErfc(1)).toBeCloseTo(Math.log(0.15729920705028513), 12);
		expect(logErfc(3)).toBeCloseTo(Math.log(2.209049699858544e-5), 12);
		expect(logErfc(-1)).toBeCloseTo(Math.log(1.8427007929497148), 12);
		expect(logErfc(10)).toBeCloseTo(Math.log(2.088487583762545e-45), 10);
		// erfc(30) ~ 2.56e-393 is below the double range; its log is still finite.
		expect(logErfc(30)).toBeCloseTo(-903.9741171106, 6);
	});
});

describe('epsilonAfterRounds', () => {
	const rounds = (rates: number[], noiseMultiplier: number) => rates.map((sampleRate) => ({ sampleRate, noiseMultiplier }));

	it('equals the accountant over T steps when every round has the same rate', () => {
		const orders = DEFAULT_RDP_ORDERS;
		const rdp = computeRdp(0.1, 1.1, 30, orders);
		const expected = epsilonFromRdp(orders, rdp, 1e-5);
		const classic = epsilonFromRdp(orders, rdp, 1e-5, 'classic');
		const composed = epsilonAfterRounds(rounds(new Array(30).fill(0.1), 1.1), 1e-5);
		expect(composed.epsilon).toBeCloseTo(expected.epsilon, 9);
		expect(composed.order).toBe(expected.order);
		expect(composed.epsilonClassic).toBeCloseTo(classic.epsilon, 9);
		expect(composed.orderClassic).toBe(classic.order);
	});

	it('per round for q = 0.1, z = 1, delta = 1e-5 (the README table)', () => {
		const at = (count: number) => epsilonAfterRounds(rounds(new Array(count).fill(0.1), 1), 1e-5);
		expect(at(1)).toEqual({ epsilon: expect.closeTo(2.1330, 4), order: 6, epsilonClassic: expect.closeTo(2.6737, 4), orderClassic: 6 });
		expect(at(5)).toMatchObject({ epsilon: expect.closeTo(2.9021, 4), epsilonClassic: expect.closeTo(3.5276, 4) });
		expect(at(10)).toMatchObject({ epsilon: expect.closeTo(3.4504, 4), epsilonClassic: expect.closeTo(4.1315, 4) });
		expect(at(20)).toMatchObject({ epsilon: expect.closeTo(4.2613, 4), epsilonClassic: expect.closeTo(4.9736, 4) });
	});

	it('grows with every round and with the sampling rate', () => {
		const a = epsilonAfterRounds(rounds([0.1, 0.1], 1.1), 1e-5).epsilon;
		const b = epsilonAfterRounds(rounds([0.1, 0.1, 0.1], 1.1), 1e-5).epsilon;
		const c = epsilonAfterRounds(rounds([0.1, 0.1, 0.5], 1.1), 1e-5).epsilon;
		expect(b).toBeGreaterThan(a);
		expect(c).toBeGreaterThan(b);
	});

	it('composes rounds of different noise: less noise in one round costs more', () => {
		const orders = DEFAULT_RDP_ORDERS;
		const rdp = computeRdp(0.1, 1.1, 1, orders).map((v, i) => v + computeRdp(0.1, 1.1 * Math.sqrt(6 / 7), 1, orders)[i]);
		const mixed = epsilonAfterRounds([{ sampleRate: 0.1, noiseMultiplier: 1.1 }, { sampleRate: 0.1, noiseMultiplier: 1.1 * Math.sqrt(6 / 7) }], 1e-5);
		expect(mixed.epsilon).toBeCloseTo(epsilonFromRdp(orders, rdp, 1e-5).epsilon, 12);
		expect(mixed.epsilon).toBeGreaterThan(epsilonAfterRounds(rounds([0.1, 0.1], 1.1), 1e-5).epsilon);
	});
});
