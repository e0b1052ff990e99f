import { numericColumns, taskInputShape, taskObjective, TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_NAMES } from './example-names';
import { EXAMPLE_TASKS } from './example-tasks';

describe('example task schemas', () => {
	it('every example has a task that the protocol accepts unchanged', () => {
		for (const name of EXAMPLE_NAMES) expect(TaskSchema.parse(EXAMPLE_TASKS[name])).toEqual(EXAMPLE_TASKS[name]);
	});

	it('describe the data the builders write', () => {
		expect(taskInputShape(EXAMPLE_TASKS['breast-cancer'])).toEqual([30]);
		expect(taskObjective(EXAMPLE_TASKS['breast-cancer'])).toEqual({ type: 'classification', classes: ['malignant', 'benign'] });
		expect(taskInputShape(EXAMPLE_TASKS.wine)).toEqual([13]);
		expect(taskObjective(EXAMPLE_TASKS.wine)).toEqual({ type: 'classification', classes: ['class_0', 'class_1', 'class_2'] });
		expect(taskObjective(EXAMPLE_TASKS.diabetes)).toEqual({ type: 'regression', loss: 'mse', outputs: 1 });
		// Regression standardises its target with the federated statistics too.
		expect(numericColumns(EXAMPLE_TASKS.diabetes)).toEqual(['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6', 'progression']);
		expect(taskInputShape(EXAMPLE_TASKS.co2)).toEqual([26, 1]);
		expect(taskObjective(EXAMPLE_TASKS.co2)).toEqual({ type: 'regression', loss: 'mse', outputs: 1 });
		expect(taskInputShape(EXAMPLE_TASKS['fashion-mnist-images'])).toEqual([28, 28, 1]);
	});

	it('image classes can name folders', () => {
		const task = EXAMPLE_TASKS['fashion-mnist-images'];
		if (task.kind !== 'image-classification') throw new Error('not an image task');
		expect(task.classes).toHaveLength(10);
		for (const c of task.classes) expect(c).toMatch(/^[A-Za-z][A-Za-z-]*$/);
	});
});
