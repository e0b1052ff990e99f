import { TaskSchema, type ModelName } from '@qflare/protocol';

// Task schemas a coordinator can start a local-data project from: one for each example data set
// that ships under datasets/examples (the column names are those of its CSV file or folder).

export interface TaskTemplate {
	id: string;
	label: string;
	/** The example under datasets/examples that fits the task. */
	example: string;
	/** The model the template suggests (one of MODELS_FOR_TASK for its kind). */
	model: ModelName;
	task: TaskSchema;
}

const numeric = (name: string) => ({ name, type: 'numeric' as const });

/** sklearn's breast cancer features: ten measures as mean, standard error and worst value. */
const MEASURES = ['radius', 'texture', 'perimeter', 'area', 'smoothness', 'compactness', 'concavity', 'concave points', 'symmetry', 'fractal dimension'];
const BREAST_CANCER_FEATURES = [...MEASURES.map((m) => `mean ${m}`), ...MEASURES.map((m) => `${m} error`), ...MEASURES.map((m) => `worst ${m}`)];

const WINE_FEATURES = [
	'alcohol',
	'malic_acid',
	'ash',
	'alcalinity_of_ash',
	'magnesium',
	'total_phenols',
	'flavanoids',
	'nonflavanoid_phenols',
	'proanthocyanins',
	'color_intensity',
	'hue',
	'od280/od315_of_diluted_wines',
	'proline'
];

export const TASK_TEMPLATES: readonly TaskTemplate[] = [
	{
		id: 'breast-cancer',
		label: 'Breast cancer (tabular classification)',
		example: 'breast-cancer.csv',
		model: 'logistic',
		task: {
			kind: 'tabular',
			features: BREAST_CANCER_FEATURES.map(numeric),
			target: 'diagnosis',
			objective: { type: 'classification', classes: ['malignant', 'benign'] }
		}
	},
	{
		id: 'wine',
		label: 'Wine cultivars (tabular classification)',
		example: 'wine.csv',
		model: 'mlp',
		task: { kind: 'tabular', features: WINE_FEATURES.map(numeric), target: 'cultivar', objective: { type: 'classification', classes: ['class_0', 'class_1', 'class_2'] } }
	},
	{
		id: 'diabetes',
		label: 'Diabetes progression (tabular regression)',
		example: 'diabetes.csv',
		model: 'mlp',
		task: {
			kind: 'tabular',
			features: ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'].map(numeric),
			target: 'progression',
			objective: { type: 'regression', loss: 'mse' }
		}
	},
	{
		id: 'co2',
		label: 'CO2 at Mauna Loa (time-series forecast)',
		example: 'co2.csv',
		model: 'conv1d',
		task: { kind: 'time-series', timeColumn: 'date', valueColumns: ['co2'], target: 'co2', window: 26, horizon: 1, loss: 'mse' }
	},
	{
		id: 'fashion-mnist',
		label: 'Fashion-MNIST image folder (image classification)',
		example: 'fashion-mnist-images/',
		model: 'cnn-small',
		task: {
			kind: 'image-classification',
			classes: ['T-shirt-top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle-boot'],
			width: 28,
			height: 28,
			channels: 1
		}
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
