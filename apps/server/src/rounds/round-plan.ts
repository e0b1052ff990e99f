import { createRng, shuffleInPlace } from '@qflare/fl';
import type { ClientTrainingPlan, Project } from '@qflare/protocol';

/** Share of the local shard a PerfFedAvg client holds out to report validation accuracy. */
export const PERFFEDAVG_VALIDATION_FRACTION = 0.1;

/**
 * The devices a round trains on: a seeded random share `fraction` of the ready devices, never
 * fewer than the project's minimum. Sorted so the record reads the same whatever the order.
 */
export function selectDevices(ready: readonly string[], project: Pick<Project, 'fraction' | 'minParticipants' | 'seed'>, roundNumber: number): string[] {
	const count = Math.min(ready.length, Math.max(project.minParticipants, Math.ceil(project.fraction * ready.length)));
	const pool = [...ready].sort();
	shuffleInPlace(pool, createRng(project.seed * 100_003 + roundNumber));
	return pool.slice(0, count).sort();
}

/** What each selected device is told to do, derived from the project's strategy. */
export function clientPlan(project: Project): ClientTrainingPlan {
	const s = project.strategy;
	return {
		localEpochs: project.localEpochs,
		batchSize: project.batchSize,
		learningRate: project.learningRate,
		proximalMu: project.proximalMu,
		clipNorm: s.name === 'dp-fedavg' ? s.clipNorm : null,
		validationFraction: s.name === 'perffedavg' ? PERFFEDAVG_VALIDATION_FRACTION : 0
	};
}
