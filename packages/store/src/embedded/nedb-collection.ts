import type Datastore from '@seald-io/nedb';
import { DuplicateKeyError } from '../errors';
import {
	assertUpsertId,
	type CollectionPort,
	type Filter,
	type FindOneAndUpdateOptions,
	type FindOptions,
	type IndexKeys,
	type IndexOptions,
	type Projection,
	type StoredDoc,
	type Update,
	type UpdateOptions,
	type UpdateResult
} from '../port';
import { stripUndefined, toNedbQuery, toNedbUpdate } from './nedb-query';

type Raw = Record<string, unknown>;

/** CollectionPort over one nedb datastore (one append-only file). */
export class NedbCollection<T extends StoredDoc> implements CollectionPort<T> {
	// nedb runs each call atomically, but the $setOnInsert emulation takes two calls;
	// every write goes through this chain so nothing interleaves with it in this process.
	private tail: Promise<unknown> = Promise.resolve();

	constructor(
		readonly name: string,
		private readonly ds: Datastore<Raw>
	) {}

	private serial<R>(task: () => Promise<R>): Promise<R> {
		const run = this.tail.then(task, task);
		this.tail = run.catch(() => undefined);
		return run.catch((err: unknown) => {
			throw this.mapError(err);
		});
	}

	private mapError(err: unknown): unknown {
		const type = (err as { errorType?: unknown } | null)?.errorType;
		return type === 'uniqueViolated' ? new DuplicateKeyError(this.name, err) : err;
	}

	insertOne(doc: T): Promise<void> {
		return this.serial(async () => {
			await this.ds.insertAsync(stripUndefined(doc as unknown as Raw));
		});
	}

	async findOne(filter: Filter<T>): Promise<T | null> {
		const doc = await this.ds.findOneAsync(toNedbQuery(filter));
		return (doc ?? null) as T | null;
	}

	find(filter: Filter<T>, options?: FindOptions<T>): Promise<T[]>;
	find(filter: Filter<T>, options: FindOptions<T> & { projection: Projection<T> }): Promise<Array<Partial<T> & StoredDoc>>;
	async find(filter: Filter<T>, options: FindOptions<T> & { projection?: Projection<T> } = {}): Promise<T[]> {
		let cursor = this.ds.findAsync(toNedbQuery(filter), options.projection);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return (await cursor) as unknown as T[];
	}

	updateOne(filter: Filter<T>, update: Update<T>, options: UpdateOptions = {}): Promise<UpdateResult> {
		return this.serial(async () => {
			const { doc, inserted, matched } = await this.applyOne(filter, update, options.upsert === true);
			return { matchedCount: matched ? 1 : 0, upsertedId: inserted && doc ? doc._id : null };
		});
	}

	updateMany(filter: Filter<T>, update: Update<T>): Promise<UpdateResult> {
		return this.serial(async () => {
			const res = await this.ds.updateAsync(toNedbQuery(filter), toNedbUpdate(update), { multi: true });
			return { matchedCount: res.numAffected, upsertedId: null };
		});
	}

	findOneAndUpdate(filter: Filter<T>, update: Update<T>, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
		return this.serial(async () => (await this.applyOne(filter, update, options.upsert === true)).doc);
	}

	private async applyOne(
		filter: Filter<T>,
		update: Update<T>,
		upsert: boolean
	): Promise<{ doc: T | null; inserted: boolean; matched: boolean }> {
		const query = toNedbQuery(filter);
		if (upsert) {
			assertUpsertId(this.name, filter);
			const existing = await this.ds.findOneAsync(query);
			if (!existing) {
				// nedb builds the new document from the filter's plain fields plus the modifiers.
				const $set = { ...(update.$setOnInsert ?? {}), ...(update.$set ?? {}) };
				const res = await this.ds.updateAsync(query, toNedbUpdate({ ...update, $set }), {
					upsert: true,
					returnUpdatedDocs: true
				});
				return { doc: res.affectedDocuments as T | null, inserted: true, matched: false };
			}
		}
		const { $setOnInsert: _ignored, ...rest } = update;
		if (Object.values(rest).every((fields) => fields === undefined || Object.keys(fields).length === 0)) {
			// Only $setOnInsert and the document exists: nothing to change.
			const doc = (await this.ds.findOneAsync(query)) as T | null;
			return { doc: doc ?? null, inserted: false, matched: doc !== null };
		}
		const res = await this.ds.updateAsync(query, toNedbUpdate(rest), { returnUpdatedDocs: true });
		const doc = (res.affectedDocuments ?? null) as T | null;
		return { doc, inserted: false, matched: res.numAffected > 0 };
	}

	deleteMany(filter: Filter<T>): Promise<number> {
		return this.serial(() => this.ds.removeAsync(toNedbQuery(filter), { multi: true }));
	}

	async countDocuments(filter: Filter<T>): Promise<number> {
		return (await this.ds.countAsync(toNedbQuery(filter))) as unknown as number;
	}

	async createIndex(keys: IndexKeys<T>, options: IndexOptions = {}): Promise<void> {
		// nedb indexes serve equality lookups only, so the sort direction is irrelevant here.
		const fields = Object.keys(keys);
		if (fields.length === 0) throw new Error(`${this.name}: index without keys`);
		const fieldName = fields.length === 1 ? fields[0] : fields;
		await this.ds.ensureIndexAsync({ fieldName, unique: options.unique === true });
	}
}
