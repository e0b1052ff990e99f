/**
 * Translation of the port's filters and updates into nedb's dialect.
 *
 * nedb reads `$ne`/`$nin` on an array field as "some element differs", MongoDB as
 * "no element equals". Rewriting them as `$not` of the positive match gives MongoDB's
 * meaning on both scalars and arrays (and on missing fields: both match).
 */

type Query = Record<string, unknown>;

function isOperatorObject(value: unknown): value is Record<string, unknown> {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
	const keys = Object.keys(value);
	return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

export function toNedbQuery(filter: object): Query {
	const out: Query = {};
	const negations: Query[] = [];
	for (const [field, condition] of Object.entries(filter)) {
		// The Mongo client runs with ignoreUndefined, so an undefined condition is no condition.
		if (condition === undefined) continue;
		if (!isOperatorObject(condition)) {
			out[field] = condition;
			continue;
		}
		const rest: Query = {};
		for (const [op, operand] of Object.entries(condition)) {
			if (op === '$ne') negations.push({ $not: { [field]: operand } });
			else if (op === '$nin') negations.push({ $not: { [field]: { $in: operand } } });
			else rest[op] = operand;
		}
		if (Object.keys(rest).length > 0) out[field] = rest;
	}
	if (negations.length > 0) out.$and = negations;
	return out;
}

/** Drops empty operators: nedb would take an update without `$` keys as a whole replacement document. */
export function toNedbUpdate(update: object): Query {
	const out: Query = {};
	for (const [op, fields] of Object.entries(update)) {
		if (op === '$setOnInsert') continue;
		if (fields !== undefined && Object.keys(fields as object).length > 0) out[op] = stripUndefined(fields as Query);
	}
	if (Object.keys(out).length === 0) throw new Error('empty update');
	return out;
}

export function stripUndefined(fields: Query): Query {
	return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
