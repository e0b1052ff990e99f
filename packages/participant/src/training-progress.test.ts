import { describe, expect, it } from 'vitest';
import { ProgressThrottle, isFinalBatch, progressFraction } from './training-progress';

const p = (epoch: number, batch: number) => ({ epoch, epochs: 2, batch, batches: 10, loss: 0.5 });

describe('ProgressThrottle', () => {
	it('passes the first report, then at most one per interval, and always the final one', () => {
		let t = 0;
		const throttle = new ProgressThrottle(250, () => t);
		expect(throttle.accept(p(1, 1))).toBe(true);
		t = 100;
		expect(throttle.accept(p(1, 2))).toBe(false);
		t = 249;
		expect(throttle.accept(p(1, 3))).toBe(false);
		t = 250;
		expect(throttle.accept(p(1, 4))).toBe(true);
		t = 260;
		expect(throttle.accept(p(2, 10))).toBe(true);
	});

	it('starts over after reset', () => {
		const throttle = new ProgressThrottle(1_000, () => 5);
		expect(throttle.accept(p(1, 1))).toBe(true);
		expect(throttle.accept(p(1, 2))).toBe(false);
		throttle.reset();
		expect(throttle.accept(p(1, 3))).toBe(true);
	});
});

describe('progress helpers', () => {
	it('knows the final batch', () => {
		expect(isFinalBatch(p(2, 10))).toBe(true);
		expect(isFinalBatch(p(1, 10))).toBe(false);
		expect(isFinalBatch(p(2, 9))).toBe(false);
	});

	it('computes the share done over all epochs', () => {
		expect(progressFraction(p(1, 5))).toBe(0.25);
		expect(progressFraction(p(2, 10))).toBe(1);
		expect(progressFraction({ epoch: 0, epochs: 0, batch: 0, batches: 0, loss: null })).toBe(0);
	});
});
