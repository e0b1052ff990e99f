import type { Project, ProjectConfig, ProjectStatus } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { ProjectDoc } from '../collections';
import { definedOnly, fromStored, toStored, type Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

export type ProjectPatch = Partial<Omit<Project, 'id' | 'createdAt' | 'updatedAt'>>;

export interface ProjectRepository {
	create(config: ProjectConfig, options?: { id?: string }): Promise<Project>;
	get(id: string): Promise<Project | null>;
	/** Newest first. */
	list(options?: { limit?: number; skip?: number; status?: ProjectStatus }): Promise<Project[]>;
	/**
	 * Null when the project is missing or, with `expectStatus`, in another status: the
	 * guard makes e.g. "start" safe when two requests race.
	 */
	update(id: string, patch: ProjectPatch, options?: { expectStatus?: ProjectStatus | readonly ProjectStatus[] }): Promise<Project | null>;
}

export function projectRepository(col: CollectionPort<ProjectDoc>, clock: Clock): ProjectRepository {
	const out = (doc: ProjectDoc | null) => (doc ? fromStored<Project>(doc) : null);
	return {
		async create(config, options = {}) {
			const now = clock().toISOString();
			const project: Project = {
				...config,
				id: options.id ?? randomUUID(),
				status: 'idle',
				modelVersion: 0,
				currentRound: 0,
				createdAt: now,
				updatedAt: now
			};
			await col.insertOne(toStored(project));
			return project;
		},
		async get(id) {
			return out(await col.findOne({ _id: id }));
		},
		async list(options = {}) {
			const filter: Filter<ProjectDoc> = options.status ? { status: options.status } : {};
			const docs = await col.find(filter, { sort: { createdAt: -1, _id: 1 }, limit: options.limit, skip: options.skip });
			return docs.map((d) => fromStored<Project>(d));
		},
		async update(id, patch, options = {}) {
			const filter: Filter<ProjectDoc> = { _id: id };
			const expect = options.expectStatus;
			if (expect !== undefined) filter.status = typeof expect === 'string' ? expect : { $in: expect };
			const { id: _id, createdAt: _c, ...fields } = patch as ProjectPatch & Partial<Pick<Project, 'id' | 'createdAt'>>;
			return out(await col.findOneAndUpdate(filter, { $set: { ...definedOnly(fields), updatedAt: clock().toISOString() } }));
		}
	};
}
