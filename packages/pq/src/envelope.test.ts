import { describe, expect, it } from 'vitest';
import { openEnvelope, openSealed, sealEnvelope, sealToPublicKey } from './envelope';
import { kemKeygen } from './kem';

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

describe('envelopes sealed to an ML-KEM-768 public key', () => {
	const recipient = kemKeygen(new Uint8Array(64).fill(3));
	const stranger = kemKeygen(new Uint8Array(64).fill(4));

	it('round-trips; layout is KEM ciphertext (1088) + nonce + ciphertext + tag', async () => {
		const sealed = await sealToPublicKey(recipient.publicKey, plaintext, aad);
		expect(sealed.length).toBe(1088 + 12 + plaintext.length + 16);
		expect(await openSealed(recipient.secretKey, sealed, aad)).toEqual(plaintext);
		// A fresh encapsulation each time.
		const again = await sealToPublicKey(recipient.publicKey, plaintext, aad);
		expect(again.subarray(0, 1088)).not.toEqual(sealed.subarray(0, 1088));
	});

	it('throws for another secret key, another aad or a flipped bit in either part', async () => {
		const sealed = await sealToPublicKey(recipient.publicKey, plaintext, aad);
		await expect(openSealed(stranger.secretKey, sealed, aad)).rejects.toThrow('envelope authentication failed');
		await expect(openSealed(recipient.secretKey, sealed, new TextEncoder().encode('round-8'))).rejects.toThrow(
			'envelope authentication failed'
		);
		await expect(openSealed(recipient.secretKey, sealed)).rejects.toThrow('envelope authentication failed');
		for (const index of [0, 1087, 1088, sealed.length - 1]) {
			const tampered = sealed.slice();
			tampered[index] ^= 0x01;
			await expect(openSealed(recipient.secretKey, tampered, aad)).rejects.toThrow('envelope authentication failed');
		}
	});

	it('rejects a short input and a public key of the wrong size', async () => {
		await expect(openSealed(recipient.secretKey, new Uint8Array(1088 + 27))).rejects.toThrow('sealed envelope too short');
		await expect(sealToPublicKey(new Uint8Array(1183), plaintext)).rejects.toThrow('ML-KEM-768 public key must be 1184 bytes');
	});
});
