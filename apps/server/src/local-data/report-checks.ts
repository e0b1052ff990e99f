import {
	MIN_ROWS_FOR_STATS,
	numericColumns,
	taskObjective,
	type EvaluationReport,
	type FeatureStatsReport,
	type TaskSchema
} from '@qflare/protocol';

// Checks of what participants report about their local data, beyond the wire schema: a report
// must describe the project's task, and its numbers must be ones real data can produce, since
// they are merged into figures for every device.

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Problems of a device's feature statistics for the task; empty when they can be merged. */
export function featureStatsProblems(report: FeatureStatsReport, task: TaskSchema): string[] {
	const expected = numericColumns(task);
	if (expected.length === 0) return [`the task (${task.kind}) has no numeric columns, so it takes no feature statistics`];
	const given = Object.keys(report.columns);
	const problems: string[] = [];
	const missing = expected.filter((c) => !given.includes(c));
	const extra = given.filter((c) => !expected.includes(c));
	if (missing.length > 0) problems.push(`missing statistics for column(s) ${missing.map((c) => `"${c}"`).join(', ')}`);
	if (extra.length > 0) problems.push(`column(s) ${extra.map((c) => `"${c}"`).join(', ')} are not numeric columns of the task`);
	const counts = new Set<number>();
	for (const name of expected.filter((c) => given.includes(c))) {
		const { count, sum: total, sumSquares } = report.columns[name];
		counts.add(count);
		if (count < 1) problems.push(`column "${name}": count is 0; a device reports statistics only of the rows it trains on`);
		// Cauchy-Schwarz: sum^2 <= count * sum of squares for any numbers (with room for rounding).
		else if (total * total > count * sumSquares * (1 + 1e-9) + 1e-9) {
			problems.push(`column "${name}": sum ${total} and sum of squares ${sumSquares} over ${count} rows cannot come from real numbers`);
		}
	}
	// With few rows the sums solve for the rows themselves (MIN_ROWS_FOR_STATS says why).
	const few = [...counts].filter((count) => count >= 1 && count < MIN_ROWS_FOR_STATS).sort((a, b) => a - b);
	if (few.length > 0) {
		problems.push(
			`the statistics cover ${few.join(', ')} ${few.length === 1 && few[0] === 1 ? 'row' : 'rows'}; a device shares column sums only of at least ${MIN_ROWS_FOR_STATS} training rows, ` +
				'so that they cannot reveal single rows'
		);
	}
	// Every training row has a value in every numeric column (the import rejects missing ones).
	if (counts.size > 1) problems.push(`columns report different row counts (${[...counts].sort((a, b) => a - b).join(', ')}); every row has a value in every column`);
	return problems;
}

/** Problems of an evaluation report for the task; empty when it can be merged. */
export function evaluationReportProblems(report: EvaluationReport, task: TaskSchema): string[] {
	const lossProblem = report.loss < 0 ? [`loss ${report.loss} is negative; cross-entropy, MSE and MAE never are`] : [];
	return [...lossProblem, ...countProblems(report, task)];
}

function countProblems(report: EvaluationReport, task: TaskSchema): string[] {
	const objective = taskObjective(task);
	if (objective.type === 'classification') {
		const c = report.classification;
		if (!c) return ['a classification task needs classification counts (correct, truePositives, falsePositives, falseNegatives)'];
		const problems: string[] = [];
		if (report.regression) problems.push('a classification task takes no regression error sums');
		const classes = objective.classes.length;
		for (const [name, counts] of [
			['truePositives', c.truePositives],
			['falsePositives', c.falsePositives],
			['falseNegatives', c.falseNegatives]
		] as const) {
			if (counts.length !== classes) problems.push(`${name} has ${counts.length} entries; the task has ${classes} classes`);
		}
		if (problems.length > 0) return problems;
		// Each sample has one true and one predicted class: a hit is a true positive of its
		// class, a miss a false negative of the true class and a false positive of the predicted one.
		if (c.correct > report.n) problems.push(`correct (${c.correct}) exceeds n (${report.n})`);
		if (sum(c.truePositives) !== c.correct) problems.push(`true positives sum to ${sum(c.truePositives)}, not correct (${c.correct})`);
		if (sum(c.truePositives) + sum(c.falseNegatives) !== report.n) {
			problems.push(`true positives plus false negatives sum to ${sum(c.truePositives) + sum(c.falseNegatives)}, not n (${report.n})`);
		}
		if (sum(c.truePositives) + sum(c.falsePositives) !== report.n) {
			problems.push(`true positives plus false positives sum to ${sum(c.truePositives) + sum(c.falsePositives)}, not n (${report.n})`);
		}
		return problems;
	}
	const r = report.regression;
	if (!r) return [`a regression task (${task.kind}) needs error sums (values, absErrorSum, squaredErrorSum)`];
	const problems: string[] = [];
	if (report.classification) problems.push('a regression task takes no classification counts');
	if (r.values !== report.n * objective.outputs) {
		problems.push(`values is ${r.values}; ${report.n} samples with ${objective.outputs} predicted value(s) each make ${report.n * objective.outputs}`);
	}
	// (sum |e|)^2 <= values * sum e^2, as for any numbers.
	if (r.absErrorSum * r.absErrorSum > r.values * r.squaredErrorSum * (1 + 1e-9) + 1e-9) {
		problems.push(`absErrorSum ${r.absErrorSum} and squaredErrorSum ${r.squaredErrorSum} over ${r.values} values cannot come from real errors`);
	}
	return problems;
}
