import { describe, expect, it } from 'vitest';
import { LoginChallenges } from './login-challenges';

const challenge = (deviceId: string, projectId = 'p1') => ({ projectId, deviceId, publicKey: 'key', kind: 'node' as const, joinTokenId: null });

describe('LoginChallenges', () => {
	it('keeps one outstanding nonce per device: a new challenge replaces the old one', () => {
		const challenges = new LoginChallenges();
		const first = challenges.issue(challenge('d1'));
		const second = challenges.issue(challenge('d1'));
		challenges.issue(challenge('d1', 'p2'));
		challenges.issue(challenge('d2'));
		expect(challenges.size).toBe(3);
		expect(challenges.take(first, 'd1')).toBeNull();
		expect(challenges.take(second, 'd1')).toMatchObject({ projectId: 'p1', deviceId: 'd1' });
		expect(challenges.take(second, 'd1')).toBeNull();
		expect(challenges.size).toBe(2);
	});

	it('a nonce is taken once, only by its device, and not after it expired', () => {
		let now = 1_000;
		const challenges = new LoginChallenges(100, () => now);
		const wrongDevice = challenges.issue(challenge('d1'));
		expect(challenges.take(wrongDevice, 'd2')).toBeNull();
		expect(challenges.take(wrongDevice, 'd1')).toBeNull();
		const late = challenges.issue(challenge('d1'));
		now += 101;
		expect(challenges.take(late, 'd1')).toBeNull();
	});

	it('drops expired nonces as new ones are issued, without walking the live ones', () => {
		let now = 0;
		const challenges = new LoginChallenges(1_000, () => now);
		for (let i = 0; i < 500; i++) challenges.issue(challenge(`old-${i}`));
		now = 600;
		for (let i = 0; i < 500; i++) challenges.issue(challenge(`new-${i}`));
		expect(challenges.size).toBe(1_000);
		now = 1_001;
		challenges.issue(challenge('later'));
		expect(challenges.size).toBe(501);
	});

	it('never holds more than its bound: the oldest nonce goes first', () => {
		const challenges = new LoginChallenges(120_000, Date.now, 3);
		const nonces = ['a', 'b', 'c', 'd'].map((d) => challenges.issue(challenge(d)));
		expect(challenges.size).toBe(3);
		expect(challenges.take(nonces[0], 'a')).toBeNull();
		expect(challenges.take(nonces[3], 'd')).not.toBeNull();
	});
});
