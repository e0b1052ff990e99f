import { describe, expect, it } from 'vitest';
import { secureLabel } from './session-labels';

describe('secureLabel', () => {
	it('names the secure step and the neighbour count, and nothing outside secure rounds', () => {
		expect(secureLabel(null)).toBe('');
		expect(secureLabel({ roundId: 'r1', phase: 'keys', neighbours: 0 })).toBe('Secure aggregation: keys sent');
		expect(secureLabel({ roundId: 'r1', phase: 'masked', neighbours: 4 })).toBe('Secure aggregation: update masked (4 neighbours)');
		expect(secureLabel({ roundId: 'r1', phase: 'ready', neighbours: 1 })).toBe('Secure aggregation: pair masks agreed (1 neighbour)');
	});
});
