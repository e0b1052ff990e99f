import { taskObjective, type FeatureColumn, type Standardization, type TaskSchema } from '@qflare/protocol';

// How a task schema and its merged scaling read on the dashboard.

/** One line: the kind of task, its inputs and what it predicts. */
export function taskHeadline(task: TaskSchema): string {
	switch (task.kind) {
		case 'image-classification':
			return `Image classification · ${task.width}×${task.height}×${task.channels} images · ${task.classes.length} classes`;
		case 'tabular': {
			const kind = task.objective.type === 'classification' ? `classification into ${task.objective.classes.length} classes` : `regression (${task.objective.loss.toUpperCase()})`;
			return `Tabular ${kind} · ${task.features.length} feature${task.features.length === 1 ? '' : 's'} → ${task.target}`;
		}
		case 'time-series':
			return `Time-series forecast · ${task.window} steps of ${task.valueColumns.length} value column${task.valueColumns.length === 1 ? '' : 's'} → next ${task.horizon} of ${task.target} (${task.loss.toUpperCase()})`;
	}
}

export function describeFeature(feature: FeatureColumn): string {
	return feature.type === 'numeric' ? `${feature.name} (numeric)` : `${feature.name} (one of ${feature.values.join(', ')})`;
}

/** Name-value pairs for the task's details. */
export function taskDetails(task: TaskSchema): [string, string][] {
	const objective = taskObjective(task);
	const rows: [string, string][] = [];
	if (task.kind === 'tabular') {
		rows.push(['Features', task.features.map(describeFeature).join(', ')]);
		rows.push(['Target', task.target]);
	} else if (task.kind === 'time-series') {
		rows.push(['Time column', task.timeColumn], ['Value columns', task.valueColumns.join(', ')], ['Target', task.target]);
		rows.push(['Window / horizon', `${task.window} / ${task.horizon}`]);
	} else {
		rows.push(['Input', `${task.width} × ${task.height} pixels, ${task.channels === 1 ? 'grayscale' : 'RGB'}`]);
	}
	if (objective.type === 'classification') rows.push(['Classes', objective.classes.join(', ')]);
	else rows.push(['Loss', objective.loss.toUpperCase()]);
	return rows;
}

export interface ScaleRow {
	column: string;
	mean: number;
	std: number;
}

/** The merged scaling by column, in the task's column order where it has one. */
export function standardizationRows(standardization: Standardization, task: TaskSchema | null): ScaleRow[] {
	const order = task?.kind === 'tabular' ? [...task.features.map((f) => f.name), task.target] : task?.kind === 'time-series' ? task.valueColumns : [];
	const names = Object.keys(standardization.columns).sort((a, b) => {
		const ia = order.indexOf(a);
		const ib = order.indexOf(b);
		return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib) || a.localeCompare(b);
	});
	return names.map((column) => ({ column, ...standardization.columns[column] }));
}
