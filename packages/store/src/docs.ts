import type { StoredDoc } from './port';

/** A domain entity as stored: its `id` lives in `_id`. */
export type Stored<T extends { id: string }> = Omit<T, 'id'> & StoredDoc;

export function toStored<T extends { id: string }>(entity: T): Stored<T> {
	const { id, ...rest } = entity;
	return { ...rest, _id: id };
}

export function fromStored<T extends { id: string }>(doc: Stored<T>): T {
	const { _id, ...rest } = doc;
	return { id: _id, ...rest } as unknown as T;
}

/** Leaves out keys whose value is undefined, so a patch never clears a field by accident. */
export function definedOnly<T extends object>(patch: T): Partial<T> {
	return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
