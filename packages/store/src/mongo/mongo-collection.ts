import {
	MongoServerError,
	type Collection,
	type Document,
	type Filter as MongoFilter,
	type OptionalUnlessRequiredId,
	type UpdateFilter
} from 'mongodb';
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

const DUPLICATE_KEY = 11000;

// The port's filter and update types are a subset of the driver's, so the casts below
// only bridge TypeScript's view of the two; no value is changed on the way.
const asFilter = <T>(f: Filter<T>) => f as unknown as MongoFilter<T>;
const asUpdate = <T>(u: Update<T>) => u as unknown as UpdateFilter<T>;

/** CollectionPort over the official driver. */
export class MongoCollection<T extends StoredDoc & Document> implements CollectionPort<T> {
	readonly name: string;

	constructor(private readonly col: Collection<T>) {
		this.name = col.collectionName;
	}

	private async guard<R>(op: () => Promise<R>): Promise<R> {
		try {
			return await op();
		} catch (err) {
			if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	insertOne(doc: T): Promise<void> {
		return this.guard(async () => {
			await this.col.insertOne(doc as OptionalUnlessRequiredId<T>);
		});
	}

	async findOne(filter: Filter<T>): Promise<T | null> {
		return (await this.col.findOne(asFilter(filter))) as T | null;
	}

	find(filter: Filter<T>, options?: FindOptions<T>): Promise<T[]>;
	find(filter: Filter<T>, options: FindOptions<T> & { projection: Projection<T> }): Promise<Array<Partial<T> & StoredDoc>>;
	async find(filter: Filter<T>, options: FindOptions<T> & { projection?: Projection<T> } = {}): Promise<T[]> {
		const cursor = this.col.find(asFilter(filter), {
			sort: options.sort as Document | undefined,
			limit: options.limit,
			skip: options.skip,
			projection: options.projection
		});
		return (await cursor.toArray()) as T[];
	}

	updateOne(filter: Filter<T>, update: Update<T>, options: UpdateOptions = {}): Promise<UpdateResult> {
		return this.guard(async () => {
			if (options.upsert) assertUpsertId(this.name, filter);
			const res = await this.col.updateOne(asFilter(filter), asUpdate(update), { upsert: options.upsert === true });
			return {
				matchedCount: res.matchedCount,
				upsertedId: res.upsertedId === null ? null : String(res.upsertedId)
			};
		});
	}

	updateMany(filter: Filter<T>, update: Update<T>): Promise<UpdateResult> {
		return this.guard(async () => {
			const res = await this.col.updateMany(asFilter(filter), asUpdate(update));
			return { matchedCount: res.matchedCount, upsertedId: null };
		});
	}

	findOneAndUpdate(filter: Filter<T>, update: Update<T>, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
		return this.guard(async () => {
			if (options.upsert) assertUpsertId(this.name, filter);
			return (await this.col.findOneAndUpdate(asFilter(filter), asUpdate(update), {
				upsert: options.upsert === true,
				returnDocument: 'after'
			})) as T | null;
		});
	}

	async deleteMany(filter: Filter<T>): Promise<number> {
		return (await this.col.deleteMany(asFilter(filter))).deletedCount;
	}

	countDocuments(filter: Filter<T>): Promise<number> {
		return this.col.countDocuments(asFilter(filter));
	}

	async createIndex(keys: IndexKeys<T>, options: IndexOptions = {}): Promise<void> {
		await this.col.createIndex(keys as Document, { unique: options.unique === true, ...(options.name ? { name: options.name } : {}) });
	}
}
