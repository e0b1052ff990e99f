import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { IntegrityError } from './errors';

// Blobs hold raw little-endian float32; a Float32Array view is that only on LE hosts.
if (endianness() !== 'LE') throw new Error('@qflare/store stores weights as little-endian float32 and needs an LE host');

export function weightsToBytes(weights: Float32Array): Uint8Array {
	return new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
}

export function bytesToWeights(bytes: Uint8Array): Float32Array {
	if (bytes.byteLength % 4 !== 0) throw new IntegrityError(`weight blob of ${bytes.byteLength} bytes is not whole float32s`);
	// A Float32Array view needs 4-byte alignment; copy when the buffer does not give it.
	if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
	return new Float32Array(bytes.slice().buffer);
}

export function sha256Hex(bytes: Uint8Array): string {
	return createHash('sha256').update(bytes).digest('hex');
}
