import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceIdFromPublicKey, generateDeviceKeypair, loginMessage, signMessage, verifySignature } from '@qflare/pq';
import { FileIdentityStore, IDENTITY_FILE } from './identity-file';

const root = mkdtempSync(path.join(tmpdir(), 'qflare-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('FileIdentityStore', () => {
	it('creates the keypair once with mode 0600 and returns the same one afterwards', async () => {
		const dir = path.join(root, 'new', 'nested');
		const first = await new FileIdentityStore(dir).loadOrCreate('p1');
		const file = path.join(dir, IDENTITY_FILE);
		expect(statSync(file).mode & 0o777).toBe(0o600);
		const json = JSON.parse(readFileSync(file, 'utf8'));
		expect(json).toMatchObject({ algorithm: 'ML-DSA-65', deviceId: deviceIdFromPublicKey(first.publicKey) });
		const before = statSync(file).mtimeMs;

		// A new store (a restarted process) and another project reuse the same key; nothing is rewritten.
		const again = await new FileIdentityStore(dir).loadOrCreate('p2');
		expect(again.publicKey).toEqual(first.publicKey);
		expect(again.secretKey).toEqual(first.secretKey);
		expect(statSync(file).mtimeMs).toBe(before);
		const message = loginMessage({ projectId: 'p1', deviceId: json.deviceId, nonce: 'n'.repeat(32) });
		expect(verifySignature(first.publicKey, message, signMessage(again.secretKey, message))).toBe(true);
	});

	it('agrees on one identity when two stores create it at once', async () => {
		const dir = path.join(root, 'race');
		const [a, b] = await Promise.all([new FileIdentityStore(dir).loadOrCreate('p'), new FileIdentityStore(dir).loadOrCreate('p')]);
		expect(a.publicKey).toEqual(b.publicKey);
	});

	it('keeps a rotated key with the unchanged device id, mode 0600, and drops the old secret key', async () => {
		const dir = path.join(root, 'rotate');
		const first = await new FileIdentityStore(dir).loadOrCreate('p');
		const deviceId = deviceIdFromPublicKey(first.publicKey);
		expect(first.deviceId).toBe(deviceId);
		const next = generateDeviceKeypair();
		const store = new FileIdentityStore(dir);
		await store.replace('p', { ...next, deviceId });
		const file = path.join(dir, IDENTITY_FILE);
		expect(statSync(file).mode & 0o777).toBe(0o600);
		expect(readFileSync(file, 'utf8')).not.toContain(Buffer.from(first.secretKey).toString('base64'));
		for (const s of [store, new FileIdentityStore(dir)]) {
			const again = await s.loadOrCreate('p');
			expect(again.publicKey).toEqual(next.publicKey);
			expect(again.deviceId).toBe(deviceId);
		}
	});

	it('stages a new key beside the current one (mode 0600), promotes it on replace and drops it on clearPending', async () => {
		const dir = path.join(root, 'stage');
		const file = path.join(dir, IDENTITY_FILE);
		const first = await new FileIdentityStore(dir).loadOrCreate('p');
		const deviceId = deviceIdFromPublicKey(first.publicKey);
		const staged = { ...generateDeviceKeypair(), deviceId };
		const store = new FileIdentityStore(dir);
		await store.loadOrCreate('p');

		// Staged: the current key stays; a restarted process finds the new one beside it.
		await store.stagePending('p', staged);
		expect(statSync(file).mode & 0o777).toBe(0o600);
		for (const s of [store, new FileIdentityStore(dir)]) {
			const loaded = await s.loadOrCreate('p');
			expect(loaded.publicKey).toEqual(first.publicKey);
			expect(loaded.secretKey).toEqual(first.secretKey);
			expect(loaded.pending).toEqual(staged);
		}

		// Refused: dropped, the current key untouched.
		await store.clearPending('p');
		expect(statSync(file).mode & 0o777).toBe(0o600);
		expect(JSON.parse(readFileSync(file, 'utf8')).pending).toBeUndefined();
		for (const s of [store, new FileIdentityStore(dir)]) {
			const loaded = await s.loadOrCreate('p');
			expect(loaded.publicKey).toEqual(first.publicKey);
			expect(loaded.pending).toBeUndefined();
		}

		// Accepted: the staged key becomes the key, the old secret key and the staged copy are gone.
		await store.stagePending('p', staged);
		await store.replace('p', staged);
		expect(statSync(file).mode & 0o777).toBe(0o600);
		const text = readFileSync(file, 'utf8');
		expect(text).not.toContain(Buffer.from(first.secretKey).toString('base64'));
		expect(JSON.parse(text).pending).toBeUndefined();
		for (const s of [store, new FileIdentityStore(dir)]) {
			const loaded = await s.loadOrCreate('p');
			expect(loaded).toEqual({ publicKey: staged.publicKey, secretKey: staged.secretKey, deviceId });
		}
	});

	it('refuses a damaged file instead of silently replacing the identity', async () => {
		const dir = path.join(root, 'bad');
		await new FileIdentityStore(dir).loadOrCreate('p');
		writeFileSync(path.join(dir, IDENTITY_FILE), '{"publicKey":"AAAA","secretKey":"AAAA"}');
		await expect(new FileIdentityStore(dir).loadOrCreate('p')).rejects.toThrow(/not a Qflare identity \(wrong key sizes\)/);
	});
});
