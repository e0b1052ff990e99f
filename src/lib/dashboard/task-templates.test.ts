import { EXAMPLE_NAMES, EXAMPLE_TASKS } from '@qflare/datasets/examples';
import { MODELS_FOR_TASK, TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { parseTaskText, TASK_TEMPLATES, taskText } from './task-templates';

describe('task templates', () => {
	it.each(TASK_TEMPLATES.map((t) => [t.id, t] as const))('%s is a valid task with a model that fits it', (_id, template) => {
		expect(TaskSchema.parse(template.task)).toEqual(template.task);
		expect(MODELS_FOR_TASK[template.task.kind]).toContain(template.model);
		expect(parseTaskText(taskText(template.task))).toEqual({ ok: true, task: template.task });
	});

	it('offers every example data set', () => {
		expect(TASK_TEMPLATES.map((t) => t.task)).toEqual(EXAMPLE_NAMES.map((name) => EXAMPLE_TASKS[name]));
	});

	it('says where a task text goes wrong', () => {
		expect(parseTaskText('[')).toMatchObject({ ok: false, error: expect.stringMatching(/^not valid JSON/) });
		expect(parseTaskText('{"kind": "image-classification", "classes": ["a"], "width": 8, "height": 8, "channels": 2}')).toEqual({
			ok: false,
			error: expect.stringContaining('classes: ')
		});
	});
});
