import { taskInputShape, type TabularTask } from '@qflare/protocol';

/** Where each feature sits in an encoded row: numeric features take 1 position, categoricals one per value. */
export interface FeatureSlot {
	name: string;
	offset: number;
	width: number;
	numeric: boolean;
}

export function featureSlots(task: TabularTask): FeatureSlot[] {
	let offset = 0;
	return task.features.map((feature) => {
		const width = feature.type === 'numeric' ? 1 : feature.values.length;
		const slot = { name: feature.name, offset, width, numeric: feature.type === 'numeric' };
		offset += width;
		return slot;
	});
}

export function encodedWidth(task: TabularTask): number {
	return taskInputShape(task)[0];
}
