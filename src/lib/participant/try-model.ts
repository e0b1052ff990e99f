import { sameJson } from '@qflare/participant';
import type { Prediction, TaskSchema, TimeSeriesTask } from '@qflare/protocol';
import type { StoredPreview } from './import-preview';

export interface ProbabilityBar {
	label: string;
	probability: number;
	best: boolean;
}

/** Classes by falling probability, for the bars; the predicted one marked. */
export function probabilityBars(prediction: Extract<Prediction, { label: string }>): ProbabilityBar[] {
	return Object.entries(prediction.probabilities)
		.map(([label, probability]) => ({ label, probability, best: label === prediction.label }))
		.sort((a, b) => b.probability - a.probability);
}

/**
 * The last `window` rows a forecast starts from, typed into a text box: one line per time step,
 * the value columns in schema order separated by commas, semicolons, tabs or spaces. A first line
 * naming the columns is skipped. Returns the rows or the problems, each naming its line.
 */
export function parseWindowText(text: string, task: TimeSeriesTask): { rows: number[][] } | { problems: string[] } {
	const lines = text
		.split(/\r?\n/)
		.map((line, i) => ({ number: i + 1, cells: line.trim() === '' ? [] : line.trim().split(/\s*[,;\t]\s*|\s+/) }))
		.filter((line) => line.cells.length > 0);
	const width = task.valueColumns.length;
	if (lines.length > 0 && lines[0].cells.some((c) => task.valueColumns.includes(c))) lines.shift();
	const problems: string[] = [];
	if (lines.length !== task.window) {
		problems.push(`the forecast needs the last ${task.window} rows, one per line; there ${lines.length === 1 ? 'is 1' : `are ${lines.length}`}`);
	}
	const rows = lines.map((line) => {
		if (line.cells.length !== width) {
			problems.push(`line ${line.number} has ${line.cells.length} value${line.cells.length === 1 ? '' : 's'}; expected ${width} (${task.valueColumns.join(', ')})`);
		}
		return line.cells.map((cell) => {
			const value = Number(cell);
			if (cell === '' || !Number.isFinite(value)) problems.push(`line ${line.number}: "${cell}" is not a number`);
			return value;
		});
	});
	return problems.length > 0 ? { problems: problems.slice(0, 10) } : { rows };
}

/**
 * The example window for "Try the model" stored with this device's data preview, or null when
 * the project is no forecast or the data was prepared for another task (stale data the session
 * refuses: its windows would not fit the form).
 */
export function exampleWindowFor(stored: Pick<StoredPreview, 'task' | 'example'>, projectTask: TaskSchema | null): number[][] | null {
	if (projectTask?.kind !== 'time-series' || !sameJson(stored.task, projectTask)) return null;
	return stored.example;
}

/** Rows as the forecast box shows them: a header line with the value columns, then one line per time step. */
export function windowText(rows: number[][], task: TimeSeriesTask): string {
	const format = (v: number) => String(Number(v.toPrecision(7)));
	return [task.valueColumns.join(', '), ...rows.map((row) => row.map(format).join(', '))].join('\n');
}
