import type { Round } from '@qflare/protocol';

/** A committed round for dashboard tests; `over` sets what a test is about. */
export function committedRound(number: number, over: Partial<Round> = {}): Round {
	return {
		id: `r${number}`,
		projectId: 'p',
		number,
		status: 'committed',
		baseModelVersion: number - 1,
		resultModelVersion: number,
		selected: [],
		accepted: [],
		totalSamples: 0,
		deadline: '',
		metrics: { testAccuracy: null, testLoss: null, trainLoss: 0.5, trainAccuracy: null },
		privacy: null,
		federatedEvaluation: null,
		failureReason: null,
		startedAt: '',
		updatedAt: '',
		endedAt: null,
		...over
	};
}
