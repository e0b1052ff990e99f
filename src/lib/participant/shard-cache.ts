import type { ShardCache } from '@qflare/participant';
import { localDb } from './local-db';

export class IndexedDbShardCache implements ShardCache {
	async get(key: string): Promise<Uint8Array | undefined> {
		return (await localDb()).get('shards', key);
	}

	async put(key: string, bytes: Uint8Array): Promise<void> {
		await (await localDb()).put('shards', bytes, key);
	}
}

/** GET of a binary shard on this origin. */
export async function fetchShard(path: string): Promise<Uint8Array> {
	const response = await fetch(path);
	if (!response.ok) throw new Error(`shard download failed: HTTP ${response.status}`);
	return new Uint8Array(await response.arrayBuffer());
}
