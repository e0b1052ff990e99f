/**
 * The narrow slice of the official driver's Collection API that the repositories use.
 * Both adapters (nedb files, MongoDB) implement exactly this, so the repositories are
 * written once and the contract tests pin down that the two behave alike.
 *
 * Supported filter subset (top-level fields only):
 *   - equality `{ field: value }` (on an array field: "the array contains value")
 *   - `$in`, `$nin`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`
 * Not supported: `$or`/`$and`, regexes, dotted paths, `$exists`, `$elemMatch`, and
 * `{ field: null }` to mean "missing" (nedb only matches stored nulls), so repositories
 * always write every field, with explicit nulls.
 *
 * Updates: `$set`, `$setOnInsert`, `$inc`, `$push`, `$addToSet` (both with `$each`).
 * Upserts must name a string `_id` in the filter, so Mongo never invents an ObjectId and
 * nedb never invents its own id; the rest of an upsert filter should be plain equality.
 */

/** Every stored document is keyed by a string id the repositories generate. */
export interface StoredDoc {
	_id: string;
}

type ElementOf<V> = V extends readonly (infer E)[] ? E : never;

export interface Operators<V> {
	$in?: readonly V[];
	$nin?: readonly V[];
	$ne?: V;
	$gt?: V;
	$gte?: V;
	$lt?: V;
	$lte?: V;
}

/** A field condition: a value, an element of an array field, or operators. */
export type Condition<V> = V | ElementOf<V> | Operators<V | ElementOf<V>>;

export type Filter<T> = { [K in keyof T]?: Condition<T[K]> };

type KeysOfType<T, V> = { [K in keyof T]-?: T[K] extends V ? K : never }[keyof T];
type ArrayKeys<T> = KeysOfType<T, readonly unknown[]>;

type Each<E> = E | { $each: readonly E[] };

export interface Update<T> {
	$set?: Partial<Omit<T, '_id'>>;
	/** Applied only when an upsert inserts; must not touch the same fields as `$set`. */
	$setOnInsert?: Partial<Omit<T, '_id'>>;
	$inc?: { [K in KeysOfType<T, number>]?: number };
	$push?: { [K in ArrayKeys<T>]?: Each<ElementOf<T[K]>> };
	$addToSet?: { [K in ArrayKeys<T>]?: Each<ElementOf<T[K]>> };
}

export type SortSpec<T> = { [K in keyof T]?: 1 | -1 };
export type Projection<T> = { [K in keyof T]?: 0 | 1 };

export interface FindOptions<T> {
	/** Key order is the sort order. */
	sort?: SortSpec<T>;
	limit?: number;
	skip?: number;
}

export interface UpdateOptions {
	upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
	/** Only 'after' is offered: nedb cannot return the document as it was. */
	returnDocument?: 'after';
}

/** No modifiedCount: nedb counts a match as a change even when nothing changed. */
export interface UpdateResult {
	matchedCount: number;
	/** The `_id` an upsert inserted, or null when it updated an existing document. */
	upsertedId: string | null;
}

export type IndexKeys<T> = { [K in keyof T]?: 1 | -1 };

export interface IndexOptions {
	unique?: boolean;
	name?: string;
}

export interface CollectionPort<T extends StoredDoc> {
	readonly name: string;
	/** Rejects with DuplicateKeyError on a unique-index or `_id` clash. */
	insertOne(doc: T): Promise<void>;
	findOne(filter: Filter<T>): Promise<T | null>;
	find(filter: Filter<T>, options?: FindOptions<T>): Promise<T[]>;
	find(filter: Filter<T>, options: FindOptions<T> & { projection: Projection<T> }): Promise<Array<Partial<T> & StoredDoc>>;
	updateOne(filter: Filter<T>, update: Update<T>, options?: UpdateOptions): Promise<UpdateResult>;
	updateMany(filter: Filter<T>, update: Update<T>): Promise<UpdateResult>;
	/** Atomic: the filter doubles as a guard (e.g. on an expected previous status). */
	findOneAndUpdate(filter: Filter<T>, update: Update<T>, options?: FindOneAndUpdateOptions): Promise<T | null>;
	deleteMany(filter: Filter<T>): Promise<number>;
	countDocuments(filter: Filter<T>): Promise<number>;
	createIndex(keys: IndexKeys<T>, options?: IndexOptions): Promise<void>;
}

/** Upserts must carry their own string `_id` (see the module comment). */
export function assertUpsertId(collection: string, filter: object): void {
	if (typeof (filter as { _id?: unknown })._id !== 'string') {
		throw new Error(`${collection}: an upsert filter must name a string _id`);
	}
}
