import type { Standardization, TaskSchema } from '@qflare/protocol';
import { toTrainingData, type PreparedSplit } from '@qflare/data-import';
import type { LabelledData } from '@qflare/trainer';

/**
 * One split as the trainer takes it, standardised with a round's statistics and kept until they
 * change: a project's standardisation is frozen at Start, so every round would derive the same
 * inputs again. The owner clears it when the device loads other data.
 */
export class StandardizedSplit {
	private cached: { key: string; data: LabelledData } | null = null;

	get(split: PreparedSplit, task: TaskSchema, standardization: Standardization | null): LabelledData {
		const key = standardization === null ? 'none' : JSON.stringify(standardization);
		if (this.cached?.key === key) return this.cached.data;
		const data = toTrainingData(split, task, standardization);
		this.cached = { key, data };
		return data;
	}

	clear(): void {
		this.cached = null;
	}
}
