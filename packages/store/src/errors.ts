/** A write hit a unique index (or an existing `_id`); same class for both backends. */
export class DuplicateKeyError extends Error {
	override readonly name = 'DuplicateKeyError';
	constructor(
		readonly collection: string,
		cause: unknown
	) {
		super(`${collection}: duplicate key (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
	}
}

/** Stored bytes no longer match the digest recorded with them. */
export class IntegrityError extends Error {
	override readonly name = 'IntegrityError';
}
