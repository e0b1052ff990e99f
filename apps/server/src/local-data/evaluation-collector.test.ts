import { PROJECT_DEFAULTS, type EvaluationReportMessage, type Project, type TaskSchema } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTempStore } from '../test-support/temp-store';
import { EvaluationCollector } from './evaluation-collector';

const task: TaskSchema = {
	kind: 'tabular',
	features: [{ name: 'a', type: 'numeric' }],
	target: 'label',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};
const feed = { round: () => {}, model: () => {}, devicesChanged: () => {} };

describe('EvaluationCollector', () => {
	let temp: Awaited<ReturnType<typeof openTempStore>>;
	let store: Store;
	beforeEach(async () => {
		temp = await openTempStore('collector-test');
		store = temp.store;
	});
	afterEach(() => temp.close());

	async function committedRound(project: Project, number: number): Promise<string> {
		const round = await store.rounds.create({ projectId: project.id, number, baseModelVersion: number - 1, deadline: 'x', status: 'committed' });
		await store.rounds.update(round.id, { resultModelVersion: number });
		await store.models.saveModel({ projectId: project.id, version: number, roundNumber: number }, Float32Array.from([0, 0, 0, 0]));
		return round.id;
	}

	it('keeps the device\'s newest evaluation when reports on two models are taken at once', async () => {
		const project = await store.projects.create({ ...PROJECT_DEFAULTS, name: 'p', dataSource: 'local', task, model: 'logistic' }, { organisationId: 'org' });
		await store.devices.upsert({ id: 'd', projectId: project.id, publicKey: 'pk', kind: 'node' });
		const [round1, round2] = [await committedRound(project, 1), await committedRound(project, 2)];
		// The older report's write of the device is slow, so the newer one is taken meanwhile.
		const update = store.devices.update.bind(store.devices);
		store.devices.update = async (projectId, deviceId, patch) => {
			if (patch.lastEvaluation?.modelVersion === 1) await new Promise((r) => setTimeout(r, 200));
			return update(projectId, deviceId, patch);
		};
		const collector = new EvaluationCollector(store, feed);
		const report = (roundId: string, modelVersion: number): EvaluationReportMessage => ({
			roundId,
			modelVersion,
			n: 2,
			loss: 0.5,
			classification: { correct: 1, truePositives: [1, 0], falsePositives: [0, 1], falseNegatives: [1, 0] }
		});
		await Promise.all([collector.submit(project.id, 'd', report(round1, 1)), collector.submit(project.id, 'd', report(round2, 2))]);
		expect((await store.devices.get(project.id, 'd'))?.lastEvaluation?.modelVersion).toBe(2);
		expect((await store.rounds.get(round1))?.federatedEvaluation).toMatchObject({ modelVersion: 1, n: 2 });
		expect((await store.rounds.get(round2))?.federatedEvaluation).toMatchObject({ modelVersion: 2, n: 2 });
	});
});
