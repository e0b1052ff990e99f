import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MODELS_FOR_TASK, TaskSchema } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { parseTaskText, TASK_TEMPLATES, taskText } from './task-templates';

const examples = fileURLToPath(new URL('../../../datasets/examples/', import.meta.url));

describe('task templates', () => {
	it.each(TASK_TEMPLATES.map((t) => [t.id, t] as const))('%s is a valid task with a model that fits it', (_id, template) => {
		expect(TaskSchema.parse(template.task)).toEqual(template.task);
		expect(MODELS_FOR_TASK[template.task.kind]).toContain(template.model);
		expect(parseTaskText(taskText(template.task))).toEqual({ ok: true, task: template.task });
	});

	it('names the columns of the example files under datasets/examples', () => {
		for (const template of TASK_TEMPLATES) {
			const file = `${examples}${template.example.replace(/\/$/, '')}`;
			expect(existsSync(file), file).toBe(true);
			const taskFile = file.replace(/\.csv$/, '') + '.task.json';
			if (existsSync(taskFile)) expect(template.task, taskFile).toEqual(JSON.parse(readFileSync(taskFile, 'utf8')));
			if (template.task.kind === 'tabular' && file.endsWith('.csv')) {
				const header = readFileSync(file, 'utf8').split('\n', 1)[0].trim().split(',');
				expect(header).toEqual([...template.task.features.map((f) => f.name), template.task.target]);
			}
		}
	});

	it('says where a task text goes wrong', () => {
		expect(parseTaskText('[')).toMatchObject({ ok: false, error: expect.stringMatching(/^not valid JSON/) });
		expect(parseTaskText('{"kind": "image-classification", "classes": ["a"], "width": 8, "height": 8, "channels": 2}')).toEqual({
			ok: false,
			error: expect.stringContaining('classes: ')
		});
	});
});
