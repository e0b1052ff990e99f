import { describe, expect, it } from 'vitest';
import { ownBuffer } from './own-buffer';

describe('ownBuffer', () => {
	it('hands over the buffer an array spans, and copies just the bytes of a view into a larger one', () => {
		const whole = new Float32Array([1, 2, 3]);
		expect(ownBuffer(whole)).toBe(whole.buffer);
		const view = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
		const copy = ownBuffer(view);
		expect(copy).not.toBe(view.buffer);
		expect(Array.from(new Float32Array(copy))).toEqual([2, 3]);
	});
});
