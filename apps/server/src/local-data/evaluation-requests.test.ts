import { decodeWeights, PROJECT_DEFAULTS, type EvaluationTask, type Project, type Round, type TaskSchema } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openTempStore } from '../test-support/temp-store';
import { EvaluationRequests } from './evaluation-requests';

const task: TaskSchema = {
	kind: 'tabular',
	features: [{ name: 'a', type: 'numeric' }],
	target: 'label',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};

/** A channel that records every request, with the devices it reports ready. */
function channel(ready: string[]) {
	const sent: { deviceId: string; task: EvaluationTask }[] = [];
	return {
		sent,
		readyDevices: async () => ready,
		sendEvaluation: (_projectId: string, deviceId: string, task: EvaluationTask) => void sent.push({ deviceId, task })
	};
}

describe('EvaluationRequests', () => {
	let store: Store;

	/** A fresh store, removed after the test, with a project whose round 1 committed model v1. */
	async function committedProject(holdOutFraction = 0.15): Promise<{ project: Project; round: Round; weights: Float32Array }> {
		const temp = await openTempStore('eval-requests-test');
		onTestFinished(temp.close);
		store = temp.store;
		const created = await store.projects.create({ ...PROJECT_DEFAULTS, name: 'p', dataSource: 'local', task, model: 'logistic', holdOutFraction }, { organisationId: 'org' });
		const weights = Float32Array.from([1, 2, 3, 4]);
		const round = await store.rounds.create({ projectId: created.id, number: 1, baseModelVersion: 0, deadline: 'x', status: 'committed' });
		await store.models.saveModel({ projectId: created.id, version: 1, roundNumber: 1 }, weights);
		const project = (await store.projects.update(created.id, { modelVersion: 1, currentRound: 1 }))!;
		return { project, round: (await store.rounds.update(round.id, { resultModelVersion: 1 }))!, weights };
	}

	it('asks the ready devices after a commit, and a device ready later once, unless it reported', async () => {
		const { project, round, weights } = await committedProject();
		const participants = channel(['a', 'b']);
		const requests = new EvaluationRequests(store, participants);
		await requests.committed(project, round, weights);
		expect(participants.sent.map((s) => s.deviceId)).toEqual(['a', 'b']);
		expect(participants.sent[0].task).toMatchObject({ roundId: round.id, roundNumber: 1, modelVersion: 1, model: 'logistic' });

		// Its status again while asked: nothing more. A device new since the commit: asked once.
		await requests.deviceReady(project, 'a');
		await requests.deviceReady(project, 'c');
		await requests.deviceReady(project, 'c');
		expect(participants.sent.map((s) => s.deviceId)).toEqual(['a', 'b', 'c']);

		// A new socket never saw the request: asked again. One that reported is not.
		requests.deviceLoggedIn(project.id, 'a');
		requests.reported(project.id, round.id, 'b');
		await store.evaluations.put({ projectId: project.id, roundId: round.id, roundNumber: 1, deviceId: 'b', modelVersion: 1, n: 1, loss: 0.1 });
		requests.deviceLoggedIn(project.id, 'b');
		await requests.deviceReady(project, 'a');
		await requests.deviceReady(project, 'b');
		expect(participants.sent.map((s) => s.deviceId)).toEqual(['a', 'b', 'c', 'a']);
	});

	it('after a restart, asks for the latest committed model what the store has no report of', async () => {
		const { project, round } = await committedProject();
		await store.evaluations.put({ projectId: project.id, roundId: round.id, roundNumber: 1, deviceId: 'a', modelVersion: 1, n: 1, loss: 0.1 });
		const participants = channel([]);
		const requests = new EvaluationRequests(store, participants);
		await requests.deviceReady(project, 'a');
		await requests.deviceReady(project, 'b');
		expect(participants.sent.map((s) => s.deviceId)).toEqual(['b']);
		expect(Array.from(decodeWeights(participants.sent[0].task.weights as Uint8Array).values)).toEqual([1, 2, 3, 4]);
	});

	it('asks nothing when the project holds out no rows', async () => {
		const { project, round, weights } = await committedProject(0);
		const participants = channel(['a']);
		const requests = new EvaluationRequests(store, participants);
		await requests.committed(project, round, weights);
		await requests.deviceReady(project, 'b');
		expect(participants.sent).toEqual([]);
	});
});
