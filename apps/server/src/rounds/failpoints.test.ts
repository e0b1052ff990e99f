import { describe, expect, it } from 'vitest';
import { parseFailpoint } from './failpoints';

describe('parseFailpoint', () => {
	it('is off when the variable is unset or blank', () => {
		expect(parseFailpoint(undefined)).toBeNull();
		expect(parseFailpoint('')).toBeNull();
		expect(parseFailpoint('  ')).toBeNull();
	});

	it('reads a point, with the hit on which it fires (default the first)', () => {
		expect(parseFailpoint('update-durable')).toEqual({ name: 'update-durable', hit: 1 });
		expect(parseFailpoint('update-durable:2')).toEqual({ name: 'update-durable', hit: 2 });
		expect(parseFailpoint(' model-saved:1 ')).toEqual({ name: 'model-saved', hit: 1 });
		expect(parseFailpoint('round-committed:12')).toEqual({ name: 'round-committed', hit: 12 });
	});

	it('refuses unknown points and bad counts', () => {
		expect(() => parseFailpoint('update-durabel')).toThrow(/unknown point update-durabel/);
		expect(() => parseFailpoint('model-saved:0')).toThrow(/1 or more/);
		expect(() => parseFailpoint('model-saved:-1')).toThrow(/expected <name>/);
		expect(() => parseFailpoint('model-saved:x')).toThrow(/expected <name>/);
		expect(() => parseFailpoint('model-saved:1:2')).toThrow(/expected <name>/);
	});
});
