import type { Store } from '@qflare/store';
import { newBareToken, sameDigest, sha256Hex } from './tokens';

/**
 * The one-time token that creates the first owner. Held hashed in memory only: a restart makes a
 * new one, and after the first user exists there is none.
 */
export class SetupLink {
	#token: string | null = null;
	#hash: string | null = null;

	/** Makes a token when the store has no user yet. */
	async init(store: Store): Promise<void> {
		if ((await store.users.count()) > 0) return;
		const { token, tokenHash } = newBareToken();
		this.#token = token;
		this.#hash = tokenHash;
	}

	/** The clear token while setup is pending, for the start-up message and in-process tests. */
	get token(): string | null {
		return this.#token;
	}

	/** Uses the token up when it matches: of two racing setups only the first gets true. */
	take(token: string): boolean {
		if (this.#hash === null || !sameDigest(sha256Hex(token), this.#hash)) return false;
		this.#hash = null;
		this.#token = null;
		return true;
	}
}
