import { z } from 'zod';

/**
 * Where a project's training data comes from: `demo` shards the server cuts from a packaged
 * data set (quick start, simulation), or `local` data each participant brings and keeps.
 */
export const DataSource = z.enum(['demo', 'local']);
export type DataSource = z.infer<typeof DataSource>;

const ColumnName = z.string().trim().min(1).max(128);
const Label = z.string().trim().min(1).max(64);

function distinct(values: readonly string[]): boolean {
	return new Set(values).size === values.length;
}

const ClassNames = z
	.array(Label)
	.min(2)
	.max(255)
	.refine(distinct, 'class names must be distinct');

export const NumericFeature = z.object({ name: ColumnName, type: z.literal('numeric') });
export const CategoricalFeature = z.object({
	name: ColumnName,
	type: z.literal('categorical'),
	/** The fixed vocabulary; a value outside it is a validation error, not a new category. */
	values: z.array(Label).min(1).max(256).refine(distinct, 'categorical values must be distinct')
});
export const FeatureColumn = z.discriminatedUnion('type', [NumericFeature, CategoricalFeature]);
export type FeatureColumn = z.infer<typeof FeatureColumn>;

export const RegressionLoss = z.enum(['mse', 'mae']);
export type RegressionLoss = z.infer<typeof RegressionLoss>;

export const TabularObjective = z.discriminatedUnion('type', [
	z.object({ type: z.literal('classification'), classes: ClassNames }),
	z.object({ type: z.literal('regression'), loss: RegressionLoss.default('mse') })
]);
export type TabularObjective = z.infer<typeof TabularObjective>;

/** Images in one sub-folder per class (or files plus a labels CSV), resized to width x height. */
export const ImageClassificationTask = z.object({
	kind: z.literal('image-classification'),
	classes: ClassNames,
	width: z.number().int().min(4).max(256),
	height: z.number().int().min(4).max(256),
	channels: z.union([z.literal(1), z.literal(3)])
});
export type ImageClassificationTask = z.infer<typeof ImageClassificationTask>;

/** A CSV with a header: named feature columns and one target column. */
export const TabularTask = z.object({
	kind: z.literal('tabular'),
	features: z.array(FeatureColumn).min(1).max(512),
	target: ColumnName,
	objective: TabularObjective
});
export type TabularTask = z.infer<typeof TabularTask>;

/**
 * A CSV with a time column and value columns, cut into windows of `window` rows that predict
 * the next `horizon` values of `target`.
 */
export const TimeSeriesTask = z.object({
	kind: z.literal('time-series'),
	timeColumn: ColumnName,
	valueColumns: z.array(ColumnName).min(1).max(64),
	target: ColumnName,
	window: z.number().int().min(2).max(1_024),
	horizon: z.number().int().min(1).max(256),
	loss: RegressionLoss.default('mse')
});
export type TimeSeriesTask = z.infer<typeof TimeSeriesTask>;

export const TaskSchema = z
	.discriminatedUnion('kind', [ImageClassificationTask, TabularTask, TimeSeriesTask])
	.superRefine((task, ctx) => {
		const problem = (message: string, path: (string | number)[]) => ctx.addIssue({ code: 'custom', message, path });
		if (task.kind === 'tabular') {
			const names = task.features.map((f) => f.name);
			if (!distinct(names)) problem('feature column names must be distinct', ['features']);
			if (names.includes(task.target)) problem(`target column "${task.target}" is also a feature`, ['target']);
		}
		if (task.kind === 'time-series') {
			if (!distinct(task.valueColumns)) problem('value column names must be distinct', ['valueColumns']);
			if (task.valueColumns.includes(task.timeColumn)) problem(`time column "${task.timeColumn}" is also a value column`, ['timeColumn']);
			if (!task.valueColumns.includes(task.target)) problem(`target "${task.target}" must be one of the value columns`, ['target']);
		}
	});
export type TaskSchema = z.infer<typeof TaskSchema>;
export type TaskKind = TaskSchema['kind'];

/** Classification (cross-entropy, accuracy, macro-F1) or regression (MSE/MAE, MAE and RMSE). */
export type TaskObjective =
	| { type: 'classification'; classes: string[] }
	| { type: 'regression'; loss: RegressionLoss; outputs: number };

export function taskObjective(task: TaskSchema): TaskObjective {
	switch (task.kind) {
		case 'image-classification':
			return { type: 'classification', classes: task.classes };
		case 'tabular':
			return task.objective.type === 'classification'
				? { type: 'classification', classes: task.objective.classes }
				: { type: 'regression', loss: task.objective.loss, outputs: 1 };
		case 'time-series':
			return { type: 'regression', loss: task.loss, outputs: task.horizon };
	}
}

/** Columns whose statistics are gathered federatedly and standardised before training. */
export function numericColumns(task: TaskSchema): string[] {
	switch (task.kind) {
		case 'image-classification':
			return [];
		case 'tabular': {
			const features = task.features.filter((f) => f.type === 'numeric').map((f) => f.name);
			return task.objective.type === 'regression' ? [...features, task.target] : features;
		}
		case 'time-series':
			return [...task.valueColumns];
	}
}

/** Shape of one encoded input sample: [features] (one-hot categoricals), [window, values] or [h, w, c]. */
export function taskInputShape(task: TaskSchema): number[] {
	switch (task.kind) {
		case 'image-classification':
			return [task.height, task.width, task.channels];
		case 'tabular':
			return [task.features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.values.length), 0)];
		case 'time-series':
			return [task.window, task.valueColumns.length];
	}
}

// Federated feature statistics: each participant reports sums, never a row.

const finiteNumber = z.number().finite();

export const ColumnSums = z.object({
	count: z.number().int().min(0),
	sum: finiteNumber,
	sumSquares: z.number().finite().min(0)
});
export type ColumnSums = z.infer<typeof ColumnSums>;

/**
 * The fewest training rows a device may report feature statistics of (and a server accepts).
 * Each column's sum and sum of squares are two equations in the device's values: with one or two
 * rows they solve to the rows themselves, and with a few more they still bound each row tightly.
 * Ten rows leave eight unknowns free per column. A floor against reading rows off the sums, not a
 * formal guarantee: no noise is added to them.
 */
export const MIN_ROWS_FOR_STATS = 10;

/** One participant's statistics of its training rows, per numeric column. */
export const FeatureStatsReport = z.object({
	columns: z.record(ColumnName, ColumnSums)
});
export type FeatureStatsReport = z.infer<typeof FeatureStatsReport>;

export interface ColumnScale {
	mean: number;
	/** Population standard deviation; 1 when a column is constant, so scaling never divides by 0. */
	std: number;
}

/** The merged statistics the server keeps with the model; participants scale inputs (and targets) with them. */
export interface Standardization {
	columns: Record<string, ColumnScale>;
	/** Rows and devices the statistics came from. */
	rows: number;
	devices: number;
}

// Federated evaluation: each participant scores a global model on its local hold-out.

export const EvaluationReport = z.object({
	modelVersion: z.number().int().min(0),
	/** Hold-out samples scored. */
	n: z.number().int().min(1).max(100_000_000),
	/** Mean loss over the n samples (the training loss: cross-entropy, or MSE/MAE on standardised targets). */
	loss: finiteNumber,
	/** Classification: correct predictions and per-class counts, so the server computes macro-F1 exactly. */
	classification: z
		.object({
			correct: z.number().int().min(0),
			truePositives: z.array(z.number().int().min(0)).max(255),
			falsePositives: z.array(z.number().int().min(0)).max(255),
			falseNegatives: z.array(z.number().int().min(0)).max(255)
		})
		.optional(),
	/** Regression and forecasting: error sums in the target's own units, over every predicted value. */
	regression: z
		.object({
			values: z.number().int().min(1),
			absErrorSum: z.number().finite().min(0),
			squaredErrorSum: z.number().finite().min(0)
		})
		.optional()
});
export type EvaluationReport = z.infer<typeof EvaluationReport>;

/** What evaluating model `modelVersion` on n hold-out samples measured; null where the objective has no such measure. */
export interface EvaluationMetrics {
	modelVersion: number;
	n: number;
	loss: number;
	accuracy: number | null;
	macroF1: number | null;
	mae: number | null;
	rmse: number | null;
}

/** A model's quality measured where the data lives: reports merged, weighted by n. */
export interface FederatedEvaluation extends EvaluationMetrics {
	devices: number;
}

/** A device's last evaluation, shown on the dashboard. */
export interface DeviceEvaluation extends EvaluationMetrics {
	at: string;
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The task a demo data set poses: 28x28 grayscale images in 10 classes. */
export function demoTask(dataset: 'mnist' | 'fashion-mnist'): ImageClassificationTask {
	return { kind: 'image-classification', classes: dataset === 'mnist' ? DIGITS : FASHION, width: 28, height: 28, channels: 1 };
}

/** Every project has a task: the declared one for local data, the data set's for demo data. */
export function projectTask(project: { dataSource: DataSource; task: TaskSchema | null; dataset: 'mnist' | 'fashion-mnist' }): TaskSchema {
	if (project.dataSource === 'local') {
		if (!project.task) throw new Error('a local-data project has no task schema');
		return project.task;
	}
	return demoTask(project.dataset);
}
