import { describe, expect, it } from 'vitest';
import { loginMessage, updateMessage } from './messages';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hash = '0f'.repeat(32);

describe('signed message builders', () => {
	it('builds the login message byte for byte', () => {
		const bytes = loginMessage({ projectId: 'p1', deviceId: 'd2', nonce: 'n3' });
		expect(decode(bytes)).toBe('qflare/login/v1\np1\nd2\nn3');
		expect(bytes.length).toBe(24);
		expect([bytes[15], bytes[18], bytes[21]]).toEqual([0x0a, 0x0a, 0x0a]);
	});

	it('builds the update message byte for byte', () => {
		expect(decode(updateMessage({ roundId: 'r9', modelVersion: 12, payloadSha256: hash }))).toBe(
			`qflare/update/v1\nr9\n12\n${hash}`
		);
	});

	it('separates the two domains for equal field text', () => {
		const login = decode(loginMessage({ projectId: 'r', deviceId: '1', nonce: hash }));
		const update = decode(updateMessage({ roundId: 'r', modelVersion: 1, payloadSha256: hash }));
		expect(login).not.toBe(update);
	});

	it('rejects fields that could forge a boundary or are malformed', () => {
		expect(() => loginMessage({ projectId: 'a\nb', deviceId: 'd', nonce: 'n' })).toThrow('projectId must not contain a newline');
		expect(() => loginMessage({ projectId: 'p', deviceId: '', nonce: 'n' })).toThrow('deviceId must be a non-empty string');
		expect(() => updateMessage({ roundId: 'r', modelVersion: -1, payloadSha256: hash })).toThrow('modelVersion');
		expect(() => updateMessage({ roundId: 'r', modelVersion: 1.5, payloadSha256: hash })).toThrow('modelVersion');
		expect(() => updateMessage({ roundId: 'r', modelVersion: 1, payloadSha256: hash.toUpperCase() })).toThrow(
			'payloadSha256'
		);
		expect(() => updateMessage({ roundId: 'r', modelVersion: 1, payloadSha256: hash.slice(2) })).toThrow('payloadSha256');
	});
});
