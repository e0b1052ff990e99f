import { mergeFeatureStats } from '@qflare/fl';
import { ErrorCode, numericColumns, projectTask, ProtocolError, type Project, type Standardization } from '@qflare/protocol';
import type { Store } from '@qflare/store';

/**
 * Local data: the merged scaling of every device that reported statistics, taken once at Start,
 * before round 1; it stays frozen for the project's life. Null when the task has no numeric
 * columns. Throws Conflict while fewer than minParticipants devices reported.
 */
export async function mergeStandardization(store: Pick<Store, 'devices'>, project: Project): Promise<Standardization | null> {
	const columns = numericColumns(projectTask(project));
	if (columns.length === 0) return null;
	const devices = await store.devices.listByProject(project.id);
	const reports = devices.flatMap((d) => (d.featureStats ? [d.featureStats] : []));
	if (reports.length < project.minParticipants) {
		throw new ProtocolError(
			ErrorCode.Conflict,
			`${reports.length} of ${devices.length} devices reported feature statistics; the project needs ${project.minParticipants} ` +
				'(minParticipants) before it can start, so that the features are standardised over enough devices'
		);
	}
	return mergeFeatureStats(reports);
}
