import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Lowercase hex SHA-256; synchronous so it can run inside hot validation paths. */
export function sha256Hex(bytes: Uint8Array): string {
	return bytesToHex(sha256(bytes));
}
