import { randomBytes } from 'node:crypto';

export interface PendingChallenge {
	projectId: string;
	deviceId: string;
	publicKey: string;
	kind: 'browser' | 'node';
	/** The join token a new device presented (checked at the challenge, claimed at login); null for a registered device. */
	joinTokenId: string | null;
	expiresAt: number;
}

/**
 * Single-use login nonces. A nonce is bound to the project, device and key it was issued for,
 * and is consumed by the first login attempt, so a captured login signature cannot be replayed.
 */
export class LoginChallenges {
	readonly #pending = new Map<string, PendingChallenge>();

	constructor(
		private readonly ttlMs = 120_000,
		private readonly now: () => number = Date.now
	) {}

	issue(challenge: Omit<PendingChallenge, 'expiresAt'>): string {
		this.#sweep();
		const nonce = randomBytes(24).toString('base64url');
		this.#pending.set(nonce, { ...challenge, expiresAt: this.now() + this.ttlMs });
		return nonce;
	}

	/** Returns the challenge once; a second take, an unknown or an expired nonce gives null. */
	take(nonce: string, deviceId: string): PendingChallenge | null {
		const challenge = this.#pending.get(nonce);
		this.#pending.delete(nonce);
		if (!challenge || challenge.deviceId !== deviceId || challenge.expiresAt < this.now()) return null;
		return challenge;
	}

	#sweep(): void {
		const now = this.now();
		for (const [nonce, c] of this.#pending) if (c.expiresAt < now) this.#pending.delete(nonce);
	}
}
