import type { JoinTokenRecord } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import { hasTokenShape, JOIN_TOKEN_PREFIX, sha256Hex } from './tokens';

/**
 * The join token record `token` opens for `projectId`, or null when it is malformed, unknown, of
 * another project, revoked or expired. The device limit is not checked here: it applies when a new
 * device registers (claimDevice), not to a registered device reloading its page.
 */
export async function liveJoinToken(store: Store, projectId: string, token: string): Promise<JoinTokenRecord | null> {
	if (!hasTokenShape(token, JOIN_TOKEN_PREFIX)) return null;
	const record = await store.joinTokens.getByHash(sha256Hex(token));
	if (!record || record.projectId !== projectId || record.revokedAt !== null) return null;
	if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) return null;
	return record;
}
