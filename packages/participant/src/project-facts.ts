import { z } from 'zod';
import { API_PREFIX, DataSource, ModelName, TaskSchema } from '@qflare/protocol';

/**
 * What a participant needs to know about a project before it joins: where the data comes from
 * and, for local data, the task its files must fit and how they are split. Read from the
 * project's participant view; the rest of the project is not needed here.
 */
export const ProjectDataFacts = z.object({
	id: z.string(),
	name: z.string(),
	dataset: z.string(),
	model: ModelName,
	dataSource: DataSource,
	task: TaskSchema.nullable(),
	holdOutFraction: z.number().min(0).max(0.5),
	seed: z.number().int()
});
export type ProjectDataFacts = z.infer<typeof ProjectDataFacts>;

/**
 * GET /api/v1/join/:id with the join token as a Bearer credential, reduced to ProjectDataFacts;
 * a clear Error when it cannot be read. The project routes need a coordinator's account; a
 * participant shows its join token, which opens only this view of its own project.
 */
export async function fetchProjectFacts(
	server: string,
	projectId: string,
	joinToken: string | null,
	fetchImpl: typeof fetch = fetch
): Promise<ProjectDataFacts> {
	if (!joinToken) throw new Error(`reading project ${projectId} needs its join token (from the join link or QR code)`);
	let response: Response;
	try {
		response = await fetchImpl(new URL(`${API_PREFIX}/join/${encodeURIComponent(projectId)}`, server), {
			headers: { authorization: `Bearer ${joinToken}` }
		});
	} catch (error) {
		throw new Error(`cannot reach ${server} to read project ${projectId}: ${error instanceof Error ? error.message : String(error)}`);
	}
	if (response.status === 401) throw new Error(`the join token for project ${projectId} is not valid (revoked, expired or mistyped)`);
	if (response.status === 404) throw new Error(`the server at ${server} has no project ${projectId}`);
	if (!response.ok) throw new Error(`reading project ${projectId} from ${server} failed: HTTP ${response.status}`);
	const parsed = ProjectDataFacts.safeParse(await response.json());
	if (!parsed.success) throw new Error(`the server's description of project ${projectId} is not one this participant understands`);
	return parsed.data;
}
