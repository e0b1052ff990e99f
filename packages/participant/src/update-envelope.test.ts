import { describe, expect, it } from 'vitest';
import { encodeTopK, encodeWeights } from '@qflare/protocol';
import { fromBase64, generateDeviceKeypair, sha256Hex, updateMessage, verifySignature } from '@qflare/pq';
import { signedUpdate } from './update-envelope';

const keys = generateDeviceKeypair(new Uint8Array(32).fill(5));
const result = { numSamples: 60, steps: 0, loss: 0.7, accuracy: 1.2, trainMs: 40 };

describe('signedUpdate', () => {
	it('signs and sends the payload it is given, whatever its encoding', () => {
		const framed = new Uint8Array(64);
		const topK = encodeTopK(10, Uint32Array.from([2, 7]), new Float32Array([0.5, -1]));
		framed.set(topK, 3);
		const envelope = signedUpdate({ roundId: 'r-1', modelVersion: 2 }, result, keys, framed.subarray(3, 3 + topK.byteLength));
		expect(envelope.payloadSha256).toBe(sha256Hex(topK));
		// A view into a larger buffer goes out as a standalone copy of exactly its bytes.
		expect(new Uint8Array(envelope.payload as ArrayBuffer)).toEqual(topK);
		const message = updateMessage({ roundId: 'r-1', modelVersion: 2, payloadSha256: sha256Hex(topK) });
		expect(verifySignature(keys.publicKey, message, fromBase64(envelope.signature))).toBe(true);
		expect(envelope).toMatchObject({ numSamples: 60, steps: 1, trainAccuracy: 1, trainLoss: 0.7, trainMs: 40 });
		const f32 = encodeWeights(new Float32Array([1, 2]));
		expect(signedUpdate({ roundId: 'r-1', modelVersion: 2 }, result, keys, f32).payload).toBe(f32.buffer);
	});
});
