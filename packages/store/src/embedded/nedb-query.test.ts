import { describe, expect, it } from 'vitest';
import { toNedbQuery, toNedbUpdate } from './nedb-query';

describe('nedb query translation', () => {
	it('passes equality and range operators through', () => {
		expect(toNedbQuery({ a: 1, b: { $gte: 2, $lt: 5 }, c: { $in: [1, 2] } })).toEqual({ a: 1, b: { $gte: 2, $lt: 5 }, c: { $in: [1, 2] } });
	});

	it('rewrites $ne and $nin as negated matches, keeping the other operators', () => {
		expect(toNedbQuery({ tags: { $ne: 'x' }, n: { $gt: 0, $nin: [3, 4] } })).toEqual({
			n: { $gt: 0 },
			$and: [{ $not: { tags: 'x' } }, { $not: { n: { $in: [3, 4] } } }]
		});
	});

	it('treats objects with plain keys as values and skips undefined conditions', () => {
		expect(toNedbQuery({ o: { k: 1 }, u: undefined })).toEqual({ o: { k: 1 } });
	});

	it('drops $setOnInsert and empty operators, and refuses an empty update', () => {
		expect(toNedbUpdate({ $set: { a: 1, b: undefined }, $inc: {}, $setOnInsert: { c: 1 } })).toEqual({ $set: { a: 1 } });
		expect(() => toNedbUpdate({ $set: {} })).toThrow(/empty update/);
	});
});
