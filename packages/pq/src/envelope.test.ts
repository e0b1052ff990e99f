import { describe, expect, it } from 'vitest';
import { openEnvelope, sealEnvelope } from './envelope';

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const otherKey = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const plaintext = new TextEncoder().encode('masked update seed share');
const aad = new TextEncoder().encode('round-7');

describe('AES-256-GCM envelopes', () => {
	it('round-trips with and without aad; layout is nonce + ciphertext + tag', async () => {
		const sealed = await sealEnvelope(key, plaintext);
		expect(sealed.length).toBe(12 + plaintext.length + 16);
		expect(await openEnvelope(key, sealed)).toEqual(plaintext);
		const withAad = await sealEnvelope(key, plaintext, aad);
		expect(await openEnvelope(key, withAad, aad)).toEqual(plaintext);
		expect(await openEnvelope(key, await sealEnvelope(key, new Uint8Array(0)))).toEqual(new Uint8Array(0));
	});

	it('uses a fresh nonce each time', async () => {
		const a = await sealEnvelope(key, plaintext);
		const b = await sealEnvelope(key, plaintext);
		expect(a.subarray(0, 12)).not.toEqual(b.subarray(0, 12));
	});

	it('throws on a flipped bit anywhere, a wrong key or a wrong aad', async () => {
		const sealed = await sealEnvelope(key, plaintext, aad);
		for (const index of [0, 11, 12, sealed.length - 1]) {
			const tampered = sealed.slice();
			tampered[index] ^= 0x80;
			await expect(openEnvelope(key, tampered, aad)).rejects.toThrow('envelope authentication failed');
		}
		await expect(openEnvelope(otherKey, sealed, aad)).rejects.toThrow('envelope authentication failed');
		await expect(openEnvelope(key, sealed)).rejects.toThrow('envelope authentication failed');
		await expect(openEnvelope(key, sealed, new TextEncoder().encode('round-8'))).rejects.toThrow(
			'envelope authentication failed'
		);
	});

	it('rejects short envelopes and bad key sizes', async () => {
		await expect(openEnvelope(key, new Uint8Array(27))).rejects.toThrow('envelope too short');
		await expect(sealEnvelope(new Uint8Array(16), plaintext)).rejects.toThrow('envelope key must be 32 bytes');
	});
});
