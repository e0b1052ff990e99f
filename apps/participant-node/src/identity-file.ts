import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
	deviceIdFromPublicKey,
	fromBase64,
	generateDeviceKeypair,
	ML_DSA65_PUBLIC_KEY_BYTES,
	ML_DSA65_SECRET_KEY_BYTES,
	toBase64,
	type DeviceKeypair
} from '@qflare/pq';
import type { DeviceIdentity, IdentityStore, RotatedKey } from '@qflare/participant';

export const IDENTITY_FILE = 'identity.json';

interface IdentityJson {
	algorithm: 'ML-DSA-65';
	deviceId: string;
	publicKey: string;
	secretKey: string;
	createdAt: string;
	/** When the key was last rotated (the device id then no longer derives from the key). */
	rotatedAt?: string;
	/** A new key staged before its rotation was sent, until the server's answer settles it. */
	pending?: { publicKey: string; secretKey: string; stagedAt: string };
}

/**
 * The device's ML-DSA-65 keypair and id in DATA_DIR/identity.json (base64, mode 0600). One
 * identity per data directory, not per project as in the browser: a headless device is usually
 * set up for one project, and a separate --data directory per project keeps projects unlinkable.
 */
export class FileIdentityStore implements IdentityStore {
	private cached: Promise<DeviceIdentity> | null = null;

	constructor(private readonly dataDir: string) {}

	get file(): string {
		return path.join(this.dataDir, IDENTITY_FILE);
	}

	loadOrCreate(_projectId: string): Promise<DeviceIdentity> {
		this.cached ??= this.load();
		this.cached.catch(() => (this.cached = null));
		return this.cached;
	}

	/** Keeps a new key beside the current one, before its rotation is sent. */
	async stagePending(_projectId: string, identity: RotatedKey): Promise<void> {
		const { json } = await this.readJson();
		json.pending = { publicKey: toBase64(identity.publicKey), secretKey: toBase64(identity.secretKey), stagedAt: new Date().toISOString() };
		json.deviceId = identity.deviceId;
		await this.write(json);
	}

	/** Writes the rotated key over the old one; the old secret key and any staged key are gone. */
	async replace(_projectId: string, identity: RotatedKey): Promise<void> {
		const previous = await this.read();
		await this.write({
			algorithm: 'ML-DSA-65',
			deviceId: identity.deviceId,
			publicKey: toBase64(identity.publicKey),
			secretKey: toBase64(identity.secretKey),
			createdAt: previous?.createdAt ?? new Date().toISOString(),
			rotatedAt: new Date().toISOString()
		});
	}

	async clearPending(_projectId: string): Promise<void> {
		const { json } = await this.readJson();
		if (!json.pending) return;
		delete json.pending;
		await this.write(json);
	}

	/** The file as stored, checked; it must exist (a rotation starts from a loaded identity). */
	private async readJson(): Promise<{ json: IdentityJson }> {
		const text = await readFile(this.file, 'utf8');
		parseIdentity(text, this.file);
		return { json: JSON.parse(text) as IdentityJson };
	}

	/** Renamed into place: never a half-written file; mode 0600 whatever the umask. */
	private async write(json: IdentityJson): Promise<void> {
		const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
		await writeFile(temp, JSON.stringify(json, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
		await chmod(temp, 0o600);
		await rename(temp, this.file);
		this.cached = Promise.resolve(parseIdentity(JSON.stringify(json), this.file).identity);
	}

	private async load(): Promise<DeviceIdentity> {
		const existing = await this.read();
		if (existing) return existing.identity;
		await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
		const keypair = generateDeviceKeypair();
		const json: IdentityJson = {
			algorithm: 'ML-DSA-65',
			deviceId: deviceIdFromPublicKey(keypair.publicKey),
			publicKey: toBase64(keypair.publicKey),
			secretKey: toBase64(keypair.secretKey),
			createdAt: new Date().toISOString()
		};
		// Written in full to a temp file, then hard-linked into place: link() fails if the file
		// exists, so two processes starting on one directory end up with the same identity and
		// a crash never leaves a half-written key behind.
		const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
		await writeFile(temp, JSON.stringify(json, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
		// The umask can only remove bits, but a restrictive mode must not depend on it either way.
		await chmod(temp, 0o600);
		try {
			await link(temp, this.file);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
		} finally {
			await unlink(temp).catch(() => undefined);
		}
		const stored = await this.read();
		if (!stored) throw new Error(`${this.file} vanished right after it was written`);
		return stored.identity;
	}

	private async read(): Promise<{ identity: DeviceIdentity; createdAt: string | undefined } | null> {
		let text: string;
		try {
			text = await readFile(this.file, 'utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
			throw error;
		}
		return parseIdentity(text, this.file);
	}
}

function parseIdentity(text: string, file: string): { identity: DeviceIdentity; createdAt: string | undefined } {
	const bad = (why: string) => new Error(`${file} is not a Qflare identity (${why}); move it away to create a new one`);
	let json: Partial<IdentityJson>;
	try {
		json = JSON.parse(text) as Partial<IdentityJson>;
	} catch {
		throw bad('not JSON');
	}
	const keypair = parseKeys(json, bad);
	const { publicKey } = keypair;
	// Files written before key rotation existed carry the derived id (or none): derive it then.
	const deviceId = typeof json.deviceId === 'string' && json.deviceId ? json.deviceId : deviceIdFromPublicKey(publicKey);
	const pending = json.pending ? parseKeys(json.pending, bad) : null;
	return {
		identity: { ...keypair, deviceId, ...(pending ? { pending: { ...pending, deviceId } } : {}) },
		createdAt: typeof json.createdAt === 'string' ? json.createdAt : undefined
	};
}

function parseKeys(json: { publicKey?: unknown; secretKey?: unknown }, bad: (why: string) => Error): DeviceKeypair {
	if (typeof json.publicKey !== 'string' || typeof json.secretKey !== 'string') throw bad('keys missing');
	let publicKey: Uint8Array;
	let secretKey: Uint8Array;
	try {
		publicKey = fromBase64(json.publicKey);
		secretKey = fromBase64(json.secretKey);
	} catch {
		throw bad('keys are not base64');
	}
	if (publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES || secretKey.length !== ML_DSA65_SECRET_KEY_BYTES) {
		throw bad('wrong key sizes');
	}
	return { publicKey, secretKey };
}
