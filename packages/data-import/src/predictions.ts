import { taskObjective, type ColumnScale, type Prediction, type TaskSchema } from '@qflare/protocol';

/**
 * The model's raw outputs (count x outputs) as answers: for classification the class with the
 * highest probability and every class's probability by name; for regression and forecasts the
 * values turned back into the target's own units with its scale (value * std + mean). Pure, so
 * the server's predict endpoint and the page's "Try the model" read outputs the same way.
 */
export function toPredictions(outputs: Float32Array, count: number, task: TaskSchema, targetScale: ColumnScale | null): Prediction[] {
	const objective = taskObjective(task);
	const width = objective.type === 'classification' ? objective.classes.length : objective.outputs;
	if (outputs.length !== count * width) {
		throw new Error(`the model gave ${outputs.length} outputs for ${count} inputs; expected ${width} per input`);
	}
	const predictions: Prediction[] = [];
	for (let i = 0; i < count; i++) {
		const row = outputs.subarray(i * width, (i + 1) * width);
		if (objective.type === 'classification') {
			let best = 0;
			for (let c = 1; c < width; c++) if (row[c] > row[best]) best = c;
			const probabilities = Object.fromEntries(objective.classes.map((name, c): [string, number] => [name, row[c]]));
			predictions.push({ label: objective.classes[best], probabilities });
		} else {
			const scale = targetScale ?? { mean: 0, std: 1 };
			predictions.push({ values: Array.from(row, (v) => v * scale.std + scale.mean) });
		}
	}
	return predictions;
}
