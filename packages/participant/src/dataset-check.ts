import {
	demoTask,
	FeatureStatsReport,
	MIN_ROWS_FOR_STATS,
	numericColumns,
	taskInputShape,
	taskObjective,
	type ParticipantProjectView,
	type TaskSchema
} from '@qflare/protocol';
import type { PreparedSplit } from '@qflare/data-import';
import type { DeviceDataset } from './ports';

/** Deep equality of two JSON values, ignoring key order (a task schema may come back reordered). */
export function sameJson(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (Array.isArray(a) || Array.isArray(b)) {
		return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
	}
	if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
	const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
	const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
	return (
		ka.length === kb.length &&
		ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
	);
}

/** The task a project's data must fit: the declared schema for local data, the data set's for demo data. */
export function expectedTask(project: ParticipantProjectView): TaskSchema | null {
	if (project.dataSource === 'local') return project.task;
	return project.dataset === 'mnist' || project.dataset === 'fashion-mnist' ? demoTask(project.dataset) : null;
}

function splitProblems(name: string, split: PreparedSplit, task: TaskSchema): string[] {
	const problems: string[] = [];
	if (!Number.isInteger(split.count) || split.count < 1) return [`the ${name} split has no rows`];
	const rowSize = taskInputShape(task).reduce((a, b) => a * b, 1);
	const image = task.kind === 'image-classification';
	if (image ? !(split.inputs instanceof Uint8Array) : !(split.inputs instanceof Float32Array)) {
		problems.push(`the ${name} inputs are ${split.inputs.constructor.name}, expected ${image ? 'Uint8Array pixels' : 'Float32Array values'}`);
	} else if (split.inputs.length !== split.count * rowSize) {
		problems.push(`the ${name} inputs hold ${split.inputs.length} values, expected ${split.count} rows x ${rowSize}`);
	} else if (!image && !split.inputs.every(Number.isFinite)) {
		problems.push(`the ${name} inputs contain values that are not finite numbers`);
	}
	const objective = taskObjective(task);
	if (objective.type === 'classification') {
		if (!(split.targets instanceof Uint8Array) || split.targets.length !== split.count) {
			problems.push(`the ${name} labels should be ${split.count} class indices`);
		} else if (split.targets.some((label) => label >= objective.classes.length)) {
			problems.push(`the ${name} labels include a class index outside the ${objective.classes.length} classes`);
		}
	} else if (!(split.targets instanceof Float32Array) || split.targets.length !== split.count * objective.outputs) {
		problems.push(`the ${name} targets should be ${split.count} x ${objective.outputs} values`);
	} else if (!split.targets.every(Number.isFinite)) {
		problems.push(`the ${name} targets contain values that are not finite numbers`);
	}
	return problems;
}

/**
 * With so few rows the column sums a device shares would give its rows away (MIN_ROWS_FOR_STATS),
 * so such data sends nothing; `rows` counts the training split, the rows the sums are taken over.
 */
function tooFewRowsForStats(rows: number, holdOut: boolean): string {
	return (
		`this project needs at least ${MIN_ROWS_FOR_STATS} training rows on each device so that the column sums it shares cannot reveal single rows; ` +
		`this file has ${rows}${holdOut ? ' besides the rows held out for evaluation' : ''}`
	);
}

/**
 * Why this data cannot take part in the project, as sentences the page and the CLI show; empty
 * when it fits. The session sends nothing about data that fails these checks.
 */
export function datasetProblems(dataset: DeviceDataset, project: ParticipantProjectView): string[] {
	const task = expectedTask(project);
	if (!task) return [`project "${project.name}" declares no task for its data`];
	if (!sameJson(dataset.task, task)) {
		return ['the data on this device was prepared for a different task than this project declares: import it again'];
	}
	const problems = splitProblems('training', dataset.train, task);
	if (dataset.holdOut) problems.push(...splitProblems('hold-out', dataset.holdOut, task));
	if (project.dataSource === 'local') {
		const expected = numericColumns(task).sort();
		const reported = Object.keys(dataset.stats?.columns ?? {}).sort();
		if (!dataset.stats || !sameJson(expected, reported)) {
			problems.push(`the feature statistics cover [${reported.join(', ')}], expected [${expected.join(', ')}]`);
		} else if (!FeatureStatsReport.safeParse(dataset.stats).success) {
			problems.push('the feature statistics are not valid counts and sums');
		} else if (expected.length > 0) {
			const rows = Math.min(...expected.map((column) => dataset.stats!.columns[column].count));
			if (rows < MIN_ROWS_FOR_STATS) problems.push(tooFewRowsForStats(rows, (dataset.holdOut?.count ?? 0) > 0));
		}
	}
	return problems;
}

/** Label counts of a classification split (class index -> rows); what the device status reports. */
export function labelCounts(split: PreparedSplit, numClasses: number): number[] {
	const counts = new Array<number>(numClasses).fill(0);
	for (const label of split.targets) if (label < numClasses) counts[label]++;
	return counts;
}
