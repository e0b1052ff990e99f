import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Email } from '@qflare/protocol';
import { openStore, type Store } from '@qflare/store';
import { heldBy } from '../auth/pid-file';
import { hashPassword } from '../auth/passwords';
import { randomSecret } from '../auth/tokens';

export interface ResetResult {
	userId: string;
	/** The new password, to be printed once and never stored in clear. */
	password: string;
	sessionsEnded: number;
}

/** Gives the account a new random password, ends its sessions and audits it in each of its organisations. */
export async function resetPassword(store: Store, email: string): Promise<ResetResult | null> {
	const user = await store.users.getByEmail(email);
	if (!user) return null;
	// 18 random bytes: 24 base64url characters, above the 10-character minimum and unguessable.
	const password = randomSecret(18);
	await store.users.setPasswordHash(user.id, await hashPassword(password));
	const sessionsEnded = await store.sessions.deleteByUser(user.id);
	const memberships = await store.memberships.listByUser(user.id);
	const organisations = memberships.length > 0 ? memberships.map((m) => m.organisationId) : [null];
	for (const organisationId of organisations) {
		await store.audit.append({
			organisationId,
			actor: { type: 'system', id: 'cli', label: 'reset-admin' },
			action: 'owner.passwordReset',
			target: { type: 'user', id: user.id },
			address: 'local',
			details: { sessionsEnded }
		});
	}
	return { userId: user.id, password, sessionsEnded };
}

async function main(): Promise<number> {
	const { values } = parseArgs({ options: { email: { type: 'string' } }, strict: true });
	const email = Email.safeParse(values.email ?? '');
	if (!email.success) {
		console.error('usage: npm run reset-admin -- --email <owner e-mail>');
		return 2;
	}
	const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
	const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
	const mongodbUri = process.env.MONGODB_URI || undefined;
	if (!mongodbUri) {
		const holder = heldBy(dataDir);
		if (holder !== null) {
			console.error(`[qflare] a server (pid ${holder}) holds the store in ${dataDir}: stop it, then run reset-admin again.`);
			return 1;
		}
	}
	const store = await openStore({ mongodbUri, dataDir });
	try {
		const result = await resetPassword(store, email.data);
		if (!result) {
			console.error(`[qflare] no account with the e-mail ${email.data}`);
			return 1;
		}
		console.log(`[qflare] new password for ${email.data} (shown once; change it after signing in): ${result.password}`);
		console.log(`[qflare] ${result.sessionsEnded} session(s) ended`);
		return 0;
	} finally {
		await store.close();
	}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	process.exitCode = await main();
}
