import { describe, expect, it } from 'vitest';
import { describeSecureRound } from './secure-round-view';

describe('describeSecureRound', () => {
	it('says what the server summed and who left before uploading', () => {
		expect(describeSecureRound({ degree: 14, threshold: 8, uploaded: 13, droppedBeforeUpload: 2, revealed: 9 })).toEqual({
			label: 'masked sum, 2 left before uploading',
			detail:
				'The server saw only the sum of 13 masked updates. 9 devices revealed shares to remove the masks, including those of 2 devices that left after the key exchange; each device had 14 neighbours, 8 of them needed to rebuild a seed.'
		});
		expect(describeSecureRound({ degree: 4, threshold: 3, uploaded: 5, droppedBeforeUpload: 0, revealed: 5 }).label).toBe('masked sum');
	});
});
