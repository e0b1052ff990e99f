import { describe, expect, it } from 'vitest';
import { hashPassword, verifyAgainstNothing, verifyPassword } from './passwords';

describe('password hashing (scrypt)', () => {
	it('stores the parameters, a 16-byte salt and a 32-byte key, and verifies the right password only', async () => {
		const hash = await hashPassword('correct horse battery');
		const [scheme, n, r, p, salt, key] = hash.split('$');
		expect([scheme, n, r, p]).toEqual(['scrypt', '32768', '8', '1']);
		expect(Buffer.from(salt, 'base64')).toHaveLength(16);
		expect(Buffer.from(key, 'base64')).toHaveLength(32);
		expect(hash).not.toContain('correct horse battery');
		expect(await verifyPassword('correct horse battery', hash)).toBe(true);
		expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
		expect(await verifyPassword('', hash)).toBe(false);
	});

	it('salts: the same password hashes differently each time', async () => {
		const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
		expect(a).not.toBe(b);
		expect(await verifyPassword('same password', b)).toBe(true);
	});

	it('treats tampered or foreign hashes as a mismatch, never an exception', async () => {
		const hash = await hashPassword('tamper-proof1');
		const parts = hash.split('$');
		const flipped = Buffer.from(parts[5], 'base64');
		flipped[0] ^= 1;
		const cases = [
			[...parts.slice(0, 5), flipped.toString('base64')].join('$'),
			[parts[0], '16384', ...parts.slice(2)].join('$'),
			[parts[0], '1048576000', ...parts.slice(2)].join('$'),
			[parts[0], '32767', ...parts.slice(2)].join('$'),
			['bcrypt', ...parts.slice(1)].join('$'),
			'$2b$10$abcdefghijklmnopqrstuv',
			'',
			'scrypt$32768$8$1$$'
		];
		for (const tampered of cases) expect(await verifyPassword('tamper-proof1', tampered)).toBe(false);
	});

	it('spends a verification on unknown accounts and answers false', async () => {
		expect(await verifyAgainstNothing('whatever-password')).toBe(false);
	});
});
