import { EXAMPLE_TASKS } from '@qflare/datasets/example-tasks';
import { TaskSchema, type ModelName } from '@qflare/protocol';

// Task schemas a coordinator can start a local-data project from: the schemas of the example data
// `npm run examples` builds under datasets/examples, so the column names match those files.

export interface TaskTemplate {
	id: string;
	label: string;
	/** The example under datasets/examples that fits the task. */
	example: string;
	/** The model the template suggests (one of MODELS_FOR_TASK for its kind). */
	model: ModelName;
	task: TaskSchema;
}

export const TASK_TEMPLATES: readonly TaskTemplate[] = [
	{ id: 'breast-cancer', label: 'Breast cancer (tabular classification)', example: 'breast-cancer.csv', model: 'logistic', task: EXAMPLE_TASKS['breast-cancer'] },
	{ id: 'wine', label: 'Wine cultivars (tabular classification)', example: 'wine.csv', model: 'mlp', task: EXAMPLE_TASKS.wine },
	{ id: 'diabetes', label: 'Diabetes progression (tabular regression)', example: 'diabetes.csv', model: 'mlp', task: EXAMPLE_TASKS.diabetes },
	{ id: 'co2', label: 'CO2 at Mauna Loa (time-series forecast)', example: 'co2.csv', model: 'gru', task: EXAMPLE_TASKS.co2 },
	{
		id: 'fashion-mnist',
		label: 'Fashion-MNIST image folder (image classification)',
		example: 'fashion-mnist-images/',
		model: 'cnn-small',
		task: EXAMPLE_TASKS['fashion-mnist-images']
	}
];

export function taskTemplate(id: string): TaskTemplate | undefined {
	return TASK_TEMPLATES.find((t) => t.id === id);
}

/** The task as the form's JSON editor shows it. */
export function taskText(task: TaskSchema): string {
	return JSON.stringify(task, null, 2);
}

export type ParsedTask = { ok: true; task: TaskSchema } | { ok: false; error: string };

/** The editor's text checked with the server's own schema; the error names where the problem is. */
export function parseTaskText(text: string): ParsedTask {
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (e) {
		return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
	}
	const parsed = TaskSchema.safeParse(json);
	if (parsed.success) return { ok: true, task: parsed.data };
	return {
		ok: false,
		error: parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')
	};
}
