// Federated evaluation: participants score a global model on their own hold-out; the server
// merges counts and sums, so accuracy, macro-F1, MAE and RMSE are exact over all devices.
import type { DeviceEvaluation, EvaluationReport, FederatedEvaluation } from '@qflare/protocol';

/**
 * Unweighted mean of per-class F1 over the classes that occur, as a true or a predicted class
 * (scikit-learn's default): a class absent from every hold-out and never predicted says nothing
 * about the model, so it is left out rather than scored 0 (which would cap a perfect model on a
 * hold-out of 2 of 3 classes at 2/3). 0 when no class occurs.
 */
export function macroF1(tp: readonly number[], fp: readonly number[], fn: readonly number[]): number {
	if (tp.length === 0 || tp.length !== fp.length || tp.length !== fn.length) {
		throw new RangeError(`macroF1: per-class arrays of lengths ${tp.length}, ${fp.length}, ${fn.length}`);
	}
	let sum = 0;
	let occurring = 0;
	for (let c = 0; c < tp.length; c++) {
		const denominator = 2 * tp[c] + fp[c] + fn[c];
		if (denominator === 0) continue;
		sum += (2 * tp[c]) / denominator;
		occurring++;
	}
	return occurring === 0 ? 0 : sum / occurring;
}

function reportKind(report: EvaluationReport): 'classification' | 'regression' | 'loss' {
	return report.classification ? 'classification' : report.regression ? 'regression' : 'loss';
}

function addInto(target: number[], source: readonly number[]): void {
	for (let i = 0; i < source.length; i++) target[i] += source[i];
}

/** Merges reports on one model version: loss weighted by n, counts and error sums added. */
export function mergeEvaluations(modelVersion: number, reports: readonly EvaluationReport[]): FederatedEvaluation {
	if (reports.length === 0) throw new RangeError('mergeEvaluations: no reports');
	let n = 0;
	let lossSum = 0;
	let correct = 0;
	let tp: number[] | null = null;
	let fp: number[] | null = null;
	let fn: number[] | null = null;
	let values = 0;
	let absErrorSum = 0;
	let squaredErrorSum = 0;
	const kind = reportKind(reports[0]);
	for (const [i, r] of reports.entries()) {
		if (r.modelVersion !== modelVersion) throw new RangeError(`mergeEvaluations: report ${i} is for v${r.modelVersion}, not v${modelVersion}`);
		const theirs = reportKind(r);
		if (theirs !== kind) throw new RangeError(`mergeEvaluations: report ${i} is a ${theirs} report, the first is ${kind}`);
		n += r.n;
		lossSum += r.loss * r.n;
		if (r.classification) {
			const c = r.classification;
			const classes = c.truePositives.length;
			if (c.falsePositives.length !== classes || c.falseNegatives.length !== classes) {
				throw new RangeError(`mergeEvaluations: report ${i} has per-class arrays of different lengths`);
			}
			tp ??= new Array<number>(classes).fill(0);
			fp ??= new Array<number>(classes).fill(0);
			fn ??= new Array<number>(classes).fill(0);
			if (tp.length !== classes) throw new RangeError(`mergeEvaluations: report ${i} has ${classes} classes, expected ${tp.length}`);
			correct += c.correct;
			addInto(tp, c.truePositives);
			addInto(fp, c.falsePositives);
			addInto(fn, c.falseNegatives);
		}
		if (r.regression) {
			values += r.regression.values;
			absErrorSum += r.regression.absErrorSum;
			squaredErrorSum += r.regression.squaredErrorSum;
		}
	}
	return {
		modelVersion,
		devices: reports.length,
		n,
		loss: lossSum / n,
		accuracy: kind === 'classification' ? correct / n : null,
		macroF1: tp && fp && fn ? macroF1(tp, fp, fn) : null,
		mae: kind === 'regression' ? absErrorSum / values : null,
		rmse: kind === 'regression' ? Math.sqrt(squaredErrorSum / values) : null
	};
}

/** One device's report as the dashboard shows it. */
export function summarizeEvaluation(report: EvaluationReport): Omit<DeviceEvaluation, 'at'> {
	const { modelVersion, n, loss, accuracy, macroF1: f1, mae, rmse } = mergeEvaluations(report.modelVersion, [report]);
	return { modelVersion, n, loss, accuracy, macroF1: f1, mae, rmse };
}
