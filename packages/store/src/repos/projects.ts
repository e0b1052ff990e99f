import { PROJECT_DEFAULTS, type Project, type ProjectConfig, type ProjectStatus } from '@qflare/protocol';
import { randomUUID } from 'node:crypto';
import type { ProjectDoc } from '../collections';
import { fromStoredStandardization, toStoredStandardization } from '../column-records';
import { definedOnly, type Clock } from '../docs';
import type { CollectionPort, Filter } from '../port';

export type ProjectPatch = Partial<Omit<Project, 'id' | 'createdAt' | 'updatedAt'>>;

export interface ProjectRepository {
	create(config: ProjectConfig, options: { id?: string; organisationId: string }): Promise<Project>;
	get(id: string): Promise<Project | null>;
	/** Newest first; `organisationIds` narrows to projects of those organisations (an empty list matches none). */
	list(options?: { organisationIds?: readonly string[]; limit?: number; skip?: number; status?: ProjectStatus }): Promise<Project[]>;
	/** Gives every project stored before organisations existed to this one; returns how many it took. */
	assignOrphans(organisationId: string): Promise<number>;
	/**
	 * Null when the project is missing or, with `expectStatus`, in another status: the
	 * guard makes e.g. "start" safe when two requests race.
	 */
	update(id: string, patch: ProjectPatch, options?: { expectStatus?: ProjectStatus | readonly ProjectStatus[] }): Promise<Project | null>;
}

/**
 * Projects written before local data existed are demo projects with the default hold-out;
 * those written before organisations existed belong to none ('') until assignOrphans; those
 * written before compressed updates and secure aggregation send f32 updates in the clear.
 */
function toProject(doc: ProjectDoc): Project {
	const { _id, standardization, dataSource, task, holdOutFraction, organisationId, updateEncoding, secureAggregation, ...rest } = doc;
	return {
		...rest,
		id: _id,
		organisationId: organisationId ?? '',
		dataSource: dataSource ?? 'demo',
		task: task ?? null,
		holdOutFraction: holdOutFraction ?? PROJECT_DEFAULTS.holdOutFraction,
		updateEncoding: updateEncoding ?? PROJECT_DEFAULTS.updateEncoding,
		secureAggregation: secureAggregation ?? null,
		standardization: fromStoredStandardization(standardization)
	};
}

function toDoc(project: Project): ProjectDoc {
	const { id, standardization, ...rest } = project;
	return { ...rest, _id: id, standardization: toStoredStandardization(standardization) };
}

export function projectRepository(col: CollectionPort<ProjectDoc>, clock: Clock): ProjectRepository {
	const out = (doc: ProjectDoc | null) => (doc ? toProject(doc) : null);
	return {
		async create(config, options) {
			const now = clock().toISOString();
			const project: Project = {
				...config,
				id: options.id ?? randomUUID(),
				organisationId: options.organisationId,
				status: 'idle',
				modelVersion: 0,
				currentRound: 0,
				standardization: null,
				createdAt: now,
				updatedAt: now
			};
			await col.insertOne(toDoc(project));
			return project;
		},
		async get(id) {
			return out(await col.findOne({ _id: id }));
		},
		async list(options = {}) {
			const filter: Filter<ProjectDoc> = options.status ? { status: options.status } : {};
			if (options.organisationIds !== undefined) filter.organisationId = { $in: options.organisationIds };
			const docs = await col.find(filter, { sort: { createdAt: -1, _id: 1 }, limit: options.limit, skip: options.skip });
			return docs.map(toProject);
		},
		async assignOrphans(organisationId) {
			// The port cannot match a missing field, so read the owners and pick the orphans here;
			// this runs once, at setup, over few projects.
			const owners = await col.find({}, { projection: { organisationId: 1 } });
			const orphans = owners.filter((d) => !d.organisationId).map((d) => d._id);
			if (orphans.length === 0) return 0;
			return (await col.updateMany({ _id: { $in: orphans } }, { $set: { organisationId } })).matchedCount;
		},
		async update(id, patch, options = {}) {
			const filter: Filter<ProjectDoc> = { _id: id };
			const expect = options.expectStatus;
			if (expect !== undefined) filter.status = typeof expect === 'string' ? expect : { $in: expect };
			const { id: _id, createdAt: _c, standardization, ...fields } = patch as ProjectPatch & Partial<Pick<Project, 'id' | 'createdAt'>>;
			const $set: Partial<Omit<ProjectDoc, '_id'>> = { ...definedOnly(fields), updatedAt: clock().toISOString() };
			if (standardization !== undefined) $set.standardization = toStoredStandardization(standardization);
			return out(await col.findOneAndUpdate(filter, { $set }));
		}
	};
}
