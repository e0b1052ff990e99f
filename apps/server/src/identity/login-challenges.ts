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

/** Outstanding nonces kept at most, whatever the rate limits let through: the oldest goes first. */
const DEFAULT_MAX_PENDING = 100_000;

/**
 * Single-use login nonces. A nonce is bound to the project, device and key it was issued for,
 * and is consumed by the first login attempt, so a captured login signature cannot be replayed.
 *
 * A device has at most one outstanding nonce: a new challenge replaces its previous one. The map
 * keeps issue order and every nonce lives equally long, so expired nonces are all at its front:
 * each issue drops them from there and stops at the first live one (each nonce is dropped once,
 * so the cost per issue is constant on average, not the size of the map).
 */
export class LoginChallenges {
	readonly #pending = new Map<string, PendingChallenge>();
	/** `projectId/deviceId` -> its outstanding nonce. */
	readonly #byDevice = new Map<string, string>();

	constructor(
		private readonly ttlMs = 120_000,
		private readonly now: () => number = Date.now,
		private readonly maxPending = DEFAULT_MAX_PENDING
	) {}

	/** Outstanding nonces (for tests and metrics). */
	get size(): number {
		return this.#pending.size;
	}

	issue(challenge: Omit<PendingChallenge, 'expiresAt'>): string {
		this.#sweep();
		const device = deviceKey(challenge.projectId, challenge.deviceId);
		const previous = this.#byDevice.get(device);
		if (previous !== undefined) this.#pending.delete(previous);
		while (this.#pending.size >= this.maxPending) {
			const oldest = this.#pending.keys().next().value;
			if (oldest === undefined) break;
			this.#drop(oldest);
		}
		const nonce = randomBytes(24).toString('base64url');
		this.#pending.set(nonce, { ...challenge, expiresAt: this.now() + this.ttlMs });
		this.#byDevice.set(device, nonce);
		return nonce;
	}

	/** Returns the challenge once; a second take, an unknown, a replaced or an expired nonce gives null. */
	take(nonce: string, deviceId: string): PendingChallenge | null {
		const challenge = this.#pending.get(nonce);
		if (!challenge) return null;
		this.#drop(nonce);
		if (challenge.deviceId !== deviceId || challenge.expiresAt < this.now()) return null;
		return challenge;
	}

	#drop(nonce: string): void {
		const challenge = this.#pending.get(nonce);
		this.#pending.delete(nonce);
		if (!challenge) return;
		const device = deviceKey(challenge.projectId, challenge.deviceId);
		if (this.#byDevice.get(device) === nonce) this.#byDevice.delete(device);
	}

	#sweep(): void {
		const now = this.now();
		for (const [nonce, c] of this.#pending) {
			if (c.expiresAt >= now) break;
			this.#drop(nonce);
		}
	}
}

const deviceKey = (projectId: string, deviceId: string) => `${projectId}/${deviceId}`;
