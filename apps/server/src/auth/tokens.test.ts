import { describe, expect, it } from 'vitest';
import { hasTokenShape, INVITATION_PREFIX, isBareToken, JOIN_TOKEN_PREFIX, newApiKey, newBareToken, newInvitationToken, newJoinToken, parseApiKey, sameDigest, sha256Hex } from './tokens';

describe('tokens', () => {
	it('makes API keys qfk_<12 hex>_<43 base64url> whose hash is of the secret only', () => {
		const made = newApiKey();
		expect(made.key).toMatch(/^qfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
		expect(made.prefix).toBe(`qfk_${made.id}`);
		const parsed = parseApiKey(made.key);
		expect(parsed).toEqual({ id: made.id, secret: made.key.slice(17) });
		expect(made.secretHash).toBe(sha256Hex(parsed!.secret));
		expect(made.secretHash).toMatch(/^[0-9a-f]{64}$/);
		expect(newApiKey().key).not.toBe(made.key);
	});

	it('refuses malformed API keys', () => {
		const { key } = newApiKey();
		for (const bad of ['', 'qfk_', key.slice(0, -1), `${key}x`, key.replace('qfk_', 'qjt_'), key.toUpperCase(), `qfk_zzzzzzzzzzzz_${key.slice(17)}`, ` ${key}`]) {
			expect(parseApiKey(bad)).toBeNull();
		}
	});

	it('makes join and invitation tokens with their prefixes, hashed whole', () => {
		const join = newJoinToken();
		expect(join.token).toMatch(/^qjt_[A-Za-z0-9_-]{43}$/);
		expect(join.prefix).toBe(join.token.slice(0, 10));
		expect(join.tokenHash).toBe(sha256Hex(join.token));
		expect(hasTokenShape(join.token, JOIN_TOKEN_PREFIX)).toBe(true);
		expect(hasTokenShape(join.token, INVITATION_PREFIX)).toBe(false);
		const invitation = newInvitationToken();
		expect(invitation.token).toMatch(/^qin_[A-Za-z0-9_-]{43}$/);
		expect(invitation.tokenHash).toBe(sha256Hex(invitation.token));
		expect(hasTokenShape(`${invitation.token}/..`, INVITATION_PREFIX)).toBe(false);
	});

	it('makes bare session tokens and compares digests in constant time', () => {
		const { token, tokenHash } = newBareToken();
		expect(isBareToken(token)).toBe(true);
		expect(isBareToken(`${token}=`)).toBe(false);
		expect(sameDigest(tokenHash, sha256Hex(token))).toBe(true);
		expect(sameDigest(tokenHash, sha256Hex(`${token}x`))).toBe(false);
		expect(sameDigest(tokenHash, tokenHash.slice(1))).toBe(false);
	});
});
