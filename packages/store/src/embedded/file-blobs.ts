import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertBlobName, type BlobStore } from '../blobs';

const TEMP_MARK = '.tmp-';
const TEMP_NAME = /\.tmp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Blobs as plain files under one folder. A put writes a temp file, fsyncs it and renames
 * it over the target, so a crash leaves the old file or the new one, never half of one.
 */
export class FileBlobStore implements BlobStore {
	constructor(private readonly root: string) {}

	private path(name: string): string {
		assertBlobName(name);
		return join(this.root, ...name.split('/'));
	}

	async put(name: string, bytes: Uint8Array): Promise<void> {
		const target = this.path(name);
		await mkdir(dirname(target), { recursive: true });
		const temp = `${target}${TEMP_MARK}${randomUUID()}`;
		try {
			const file = await open(temp, 'wx');
			try {
				await file.writeFile(bytes);
				await file.sync();
			} finally {
				await file.close();
			}
			await rename(temp, target);
		} catch (err) {
			await rm(temp, { force: true });
			throw err;
		}
		await syncDir(dirname(target));
	}

	async get(name: string): Promise<Uint8Array | null> {
		try {
			const buf = await readFile(this.path(name));
			return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
			throw err;
		}
	}

	async delete(name: string): Promise<void> {
		await rm(this.path(name), { force: true });
	}

	/** Removes temp files a crash left behind; call only while no put is running. */
	async sweepTemp(): Promise<number> {
		let removed = 0;
		let entries;
		try {
			entries = await readdir(this.root, { recursive: true, withFileTypes: true });
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
			throw err;
		}
		for (const entry of entries) {
			if (entry.isFile() && TEMP_NAME.test(entry.name)) {
				await rm(join(entry.parentPath, entry.name), { force: true });
				removed++;
			}
		}
		return removed;
	}
}

/** Makes the rename itself durable; some filesystems refuse to fsync a folder, which is fine. */
async function syncDir(dir: string): Promise<void> {
	try {
		const handle = await open(dir, 'r');
		try {
			await handle.sync();
		} finally {
			await handle.close();
		}
	} catch {
		// best effort
	}
}
