import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { Project, Round } from '@qflare/protocol';
import RoundsTable from './RoundsTable.svelte';
import StrategySummary from './StrategySummary.svelte';
import { committedRound } from './round-fixture';

// epsilonAfterRounds at q = 0.1, z = 1, delta = 1e-5: 2.1330 / 2.6737 after one round,
// 2.9021 / 3.5276 after five (tight / classic).
function round(number: number, privacy: Round['privacy']): Round {
	return committedRound(number, {
		selected: ['a'],
		accepted: ['a'],
		totalSamples: 10,
		deadline: '2026-01-01T00:00:10.000Z',
		privacy,
		startedAt: '2026-01-01T00:00:00.000Z',
		updatedAt: '2026-01-01T00:00:10.000Z',
		endedAt: '2026-01-01T00:00:10.000Z'
	});
}

const text = (html: string) => html.replace(/<!--[^>]*-->/g, '').replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');

describe('epsilon on the dashboard', () => {
	const rounds = [
		round(1, { epsilon: 2.133, epsilonClassic: 2.6737, delta: 1e-5, noiseMultiplier: 1, sampleRate: 0.1 }),
		// Stored before the classic value was recorded: its epsilon is the classic one, shown alone.
		round(2, { epsilon: 3.1, delta: 1e-5, noiseMultiplier: 1, sampleRate: 0.1 })
	];

	it('shows the reported epsilon with the classic one beside it in the rounds table', () => {
		const { body } = render(RoundsTable, { props: { rounds, showPrivacy: true, showTestSet: false } });
		const cells = [...body.matchAll(/data-testid="round-epsilon"[^>]*>([^<]*)</g)].map((m) => m[1].trim());
		// Newest round first.
		expect(cells).toEqual(['3.10', '2.13 (classic 2.67)']);
	});

	it('shows both in the privacy spent line, the target against the reported one', () => {
		const project = {
			strategy: { name: 'dp-fedavg', clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, targetEpsilon: 8 },
			fraction: 1,
			partition: 'iid',
			proximalMu: 0,
			screening: { maxUpdateNorm: null, normPolicy: 'reject' },
			updateEncoding: { kind: 'f32' },
			secureAggregation: null
		} as unknown as Project;
		const five = round(5, { epsilon: 2.9021, epsilonClassic: 3.5276, delta: 1e-5, noiseMultiplier: 1, sampleRate: 0.1 });
		const { body } = render(StrategySummary, { props: { project, rounds: [rounds[0], five] } });
		expect(text(body)).toContain('Privacy spent ε 2.90 / 8.00 (δ = 1e-5, after 2 rounds; classic ε 3.53)');
		expect(body).toContain('data-epsilon="2.9021"');
		const old = render(StrategySummary, { props: { project, rounds: [rounds[1]] } }).body;
		expect(text(old)).toContain('(δ = 1e-5, after 1 round)');
		expect(old).not.toContain('classic');
	});
});
