import type { RoundTask, UpdateEnvelope } from '@qflare/protocol';
import { sha256Hex, signMessage, toBase64, updateMessage, type DeviceKeypair } from '@qflare/pq';
import type { LocalTrainResult } from './ports';

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Payload bytes are sent as a standalone ArrayBuffer so browsers and Node frame them alike. */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
	return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
		? bytes.buffer
		: (bytes.slice().buffer as ArrayBuffer);
}

/**
 * A round's local result as the server takes it: `payload` (the delta as the session encoded it:
 * f32, compressed by UpdateCompressor, or a secure round's masked words), its hash, and the
 * device's signature over both. `result.delta` is not read: only the payload goes out.
 */
export function signedUpdate(
	round: Pick<RoundTask, 'roundId' | 'modelVersion'>,
	result: Omit<LocalTrainResult, 'delta'>,
	keypair: DeviceKeypair,
	payload: Uint8Array
): UpdateEnvelope {
	const { roundId, modelVersion } = round;
	const payloadSha256 = sha256Hex(payload);
	const signature = toBase64(signMessage(keypair.secretKey, updateMessage({ roundId, modelVersion, payloadSha256 })));
	return {
		roundId,
		modelVersion,
		numSamples: result.numSamples,
		steps: Math.max(1, result.steps),
		trainLoss: result.loss,
		trainAccuracy: result.accuracy === null ? null : clamp01(result.accuracy),
		trainMs: result.trainMs,
		...(result.valAccuracy === undefined ? {} : { valAccuracy: clamp01(result.valAccuracy) }),
		payloadSha256,
		signature,
		payload: exactBuffer(payload)
	};
}
