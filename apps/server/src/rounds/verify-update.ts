import { createHash } from 'node:crypto';
import { fromBase64, updateMessage, verifySignature } from '@qflare/pq';
import { decodeWeights, ErrorCode, ProtocolError, type ParsedUpdateEnvelope, type UpdateScreening } from '@qflare/protocol';
import { screenUpdate } from '@qflare/fl';

export interface UpdateExpectations {
	roundId: string;
	modelVersion: number;
	parameterCount: number;
	devicePublicKey: Uint8Array;
	screening: UpdateScreening;
}

export interface VerifiedUpdate {
	delta: Float32Array;
	l2Norm: number;
	/** True when the norm bound clipped the delta. */
	clipped: boolean;
}

/**
 * Checks an update that passed the schema, cheapest check first, and returns its screened delta.
 * Throws ProtocolError with the code the participant gets back; nothing is stored before this passes.
 */
export function verifyUpdate(envelope: ParsedUpdateEnvelope, expect: UpdateExpectations): VerifiedUpdate {
	if (envelope.roundId !== expect.roundId) {
		throw new ProtocolError(ErrorCode.WrongRound, `update is for round ${envelope.roundId}, the open round is ${expect.roundId}`);
	}
	if (envelope.modelVersion !== expect.modelVersion) {
		throw new ProtocolError(
			ErrorCode.WrongModelVersion,
			`update was trained from model v${envelope.modelVersion}, the round uses v${expect.modelVersion}`
		);
	}
	if (envelope.signature.length === 0) throw new ProtocolError(ErrorCode.Unsigned, 'update carries no signature');
	let signature: Uint8Array;
	try {
		signature = fromBase64(envelope.signature);
	} catch {
		throw new ProtocolError(ErrorCode.BadSignature, 'signature is not valid base64');
	}
	const message = updateMessage({
		roundId: envelope.roundId,
		modelVersion: envelope.modelVersion,
		payloadSha256: envelope.payloadSha256
	});
	if (!verifySignature(expect.devicePublicKey, message, signature)) {
		throw new ProtocolError(ErrorCode.BadSignature, "signature does not verify with this device's public key");
	}
	// node:crypto hashes a 6.65 MB CNN update in ~4 ms; the portable JS SHA-256 takes ~45 ms,
	// which capped ingestion at about 50 MB/s.
	const actualHash = createHash('sha256').update(envelope.payload).digest('hex');
	if (actualHash !== envelope.payloadSha256) {
		throw new ProtocolError(ErrorCode.HashMismatch, 'payload does not match the signed SHA-256');
	}
	return screenPayload(envelope.payload, expect);
}

/**
 * Decodes and screens an update's payload. verifyUpdate ends with it, and a round resumed
 * after a restart runs its stored payloads through it again, so both fold the same delta.
 */
export function screenPayload(payload: Uint8Array, expect: Pick<UpdateExpectations, 'parameterCount' | 'screening'>): VerifiedUpdate {
	const { values } = decodeWeights(payload);
	const screened = screenUpdate(values, {
		expectedLength: expect.parameterCount,
		maxNorm: expect.screening.maxUpdateNorm ?? undefined,
		normPolicy: expect.screening.normPolicy
	});
	if (!screened.ok) throw new ProtocolError(screened.code, screened.message);
	return { delta: screened.delta, l2Norm: screened.l2Norm, clipped: screened.clipped };
}
