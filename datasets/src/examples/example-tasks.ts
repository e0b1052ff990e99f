import { TaskSchema, type ImageClassificationTask, type TabularTask, type TimeSeriesTask } from '@qflare/protocol';
import type { ExampleName } from './example-names';

// Column names are scikit-learn's `feature_names` for the same files, so the CSVs line up with
// what sklearn users know.

export const BREAST_CANCER_FEATURES = [
	'mean radius',
	'mean texture',
	'mean perimeter',
	'mean area',
	'mean smoothness',
	'mean compactness',
	'mean concavity',
	'mean concave points',
	'mean symmetry',
	'mean fractal dimension',
	'radius error',
	'texture error',
	'perimeter error',
	'area error',
	'smoothness error',
	'compactness error',
	'concavity error',
	'concave points error',
	'symmetry error',
	'fractal dimension error',
	'worst radius',
	'worst texture',
	'worst perimeter',
	'worst area',
	'worst smoothness',
	'worst compactness',
	'worst concavity',
	'worst concave points',
	'worst symmetry',
	'worst fractal dimension'
] as const;
export const BREAST_CANCER_TARGET = 'diagnosis';
/** Target 0 is malignant, 1 benign (the first line of sklearn's file says so). */
export const BREAST_CANCER_CLASSES = ['malignant', 'benign'] as const;

export const WINE_FEATURES = [
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
] as const;
export const WINE_TARGET = 'cultivar';
/** The class names of sklearn's wine_data.csv header: three cultivars. */
export const WINE_CLASSES = ['class_0', 'class_1', 'class_2'] as const;

export const DIABETES_FEATURES = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'] as const;
export const DIABETES_TARGET = 'progression';

export const CO2_TIME_COLUMN = 'date';
export const CO2_VALUE_COLUMN = 'co2';

/**
 * Fashion-MNIST's classes as folder names: "T-shirt/top" cannot name a folder and a space in
 * "Ankle boot" gets in the way on command lines, so those two are spelt with hyphens.
 */
export const FASHION_FOLDER_CLASSES = [
	'T-shirt-top',
	'Trouser',
	'Pullover',
	'Dress',
	'Coat',
	'Sandal',
	'Shirt',
	'Sneaker',
	'Bag',
	'Ankle-boot'
] as const;

const numeric = (names: readonly string[]) => names.map((name) => ({ name, type: 'numeric' as const }));

const breastCancer: TabularTask = {
	kind: 'tabular',
	features: numeric(BREAST_CANCER_FEATURES),
	target: BREAST_CANCER_TARGET,
	objective: { type: 'classification', classes: [...BREAST_CANCER_CLASSES] }
};

const wine: TabularTask = {
	kind: 'tabular',
	features: numeric(WINE_FEATURES),
	target: WINE_TARGET,
	objective: { type: 'classification', classes: [...WINE_CLASSES] }
};

const diabetes: TabularTask = {
	kind: 'tabular',
	features: numeric(DIABETES_FEATURES),
	target: DIABETES_TARGET,
	objective: { type: 'regression', loss: 'mse' }
};

/** Half a year of weekly readings predicts the next week. */
const co2: TimeSeriesTask = {
	kind: 'time-series',
	timeColumn: CO2_TIME_COLUMN,
	valueColumns: [CO2_VALUE_COLUMN],
	target: CO2_VALUE_COLUMN,
	window: 26,
	horizon: 1,
	loss: 'mse'
};

const fashionImages: ImageClassificationTask = {
	kind: 'image-classification',
	classes: [...FASHION_FOLDER_CLASSES],
	width: 28,
	height: 28,
	channels: 1
};

/** Every example's task schema, checked against the protocol's TaskSchema when this module loads. */
export const EXAMPLE_TASKS: Readonly<Record<ExampleName, TaskSchema>> = {
	'breast-cancer': TaskSchema.parse(breastCancer),
	wine: TaskSchema.parse(wine),
	diabetes: TaskSchema.parse(diabetes),
	co2: TaskSchema.parse(co2),
	'fashion-mnist-images': TaskSchema.parse(fashionImages)
};
