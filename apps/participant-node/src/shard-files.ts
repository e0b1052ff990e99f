import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeShard } from '@qflare/protocol';
import type { ShardCache } from '@qflare/participant';

/** Demo shards as the server sent them, one file each under DATA_DIR/shards/. */
export class FileShardCache implements ShardCache {
	constructor(private readonly dataDir: string) {}

	/** The session's key is "project/device/index"; each part becomes one path segment. */
	pathOf(key: string): string {
		const parts = key.split('/').map((part) => encodeURIComponent(part));
		return path.join(this.dataDir, 'shards', ...parts) + '.qfs';
	}

	async get(key: string): Promise<Uint8Array | undefined> {
		try {
			const bytes = await readFile(this.pathOf(key));
			return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
			throw error;
		}
	}

	async put(key: string, bytes: Uint8Array): Promise<void> {
		const file = this.pathOf(key);
		await mkdir(path.dirname(file), { recursive: true });
		// Renamed into place so a crash mid-write never leaves a truncated shard in the cache.
		const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
		await writeFile(temp, bytes);
		await rename(temp, file);
	}
}

/** The device's own shard file stands in for the cache, so the server's shard is never fetched. */
export function localShardCache(bytes: Uint8Array): ShardCache {
	return {
		get: async () => bytes,
		put: async () => undefined
	};
}

/** Reads and checks a local QFS1 shard up front, so a bad file fails at start, not mid-round. */
export async function readLocalShard(file: string): Promise<Uint8Array> {
	let bytes: Uint8Array;
	try {
		const buffer = await readFile(file);
		bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
	} catch (error) {
		throw new Error(`--shard ${file}: ${(error as Error).message}`);
	}
	try {
		decodeShard(bytes);
	} catch (error) {
		throw new Error(`--shard ${file} is not a QFS1 shard: ${(error as Error).message}`);
	}
	return bytes;
}

/** GET of the server's demo shard; the session gives a path relative to the server. */
export function httpShardFetcher(server: string, fetchImpl: typeof fetch = fetch): (shardPath: string) => Promise<Uint8Array> {
	return async (shardPath) => {
		const response = await fetchImpl(new URL(shardPath, server));
		if (!response.ok) throw new Error(`shard download failed: HTTP ${response.status}`);
		return new Uint8Array(await response.arrayBuffer());
	};
}
