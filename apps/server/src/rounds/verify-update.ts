import { fromBase64, updateMessage } from '@qflare/pq';
import {
	decodeWeights,
	ErrorCode,
	ProtocolError,
	readWeightHeader,
	topKCount,
	type ParsedUpdateEnvelope,
	type UpdateEncoding,
	type UpdateScreening
} from '@qflare/protocol';
import { screenAndMeasure } from '@qflare/fl';
import { checkInline, type VerifierPool, type VerifyJob } from './verifier-pool';

export interface UpdateExpectations {
	roundId: string;
	modelVersion: number;
	parameterCount: number;
	devicePublicKey: Uint8Array;
	screening: UpdateScreening;
	/** The project's update encoding: a payload in another dtype, or top-k keeping more, is refused. */
	encoding: UpdateEncoding;
	/** The project's last aggregate delta: the trust distance is measured to it (same pass as screening). */
	reference?: Float32Array | null;
}

export interface VerifiedUpdate {
	/**
	 * The screened delta. Unless `owned`, it is a view over the payload's own bytes: read it
	 * (fold it) now, and copy it before keeping it past the payload's life.
	 */
	delta: Float32Array;
	/** True when delta is memory of its own (an unaligned payload's copy, or the clipped vector). */
	owned: boolean;
	l2Norm: number;
	/** True when the norm bound clipped the delta. */
	clipped: boolean;
	/** relativeDistance to `reference`; null without one of the model's length. */
	distance: number | null;
}

/**
 * Checks an update that passed the schema, cheapest check first, and returns its screened delta.
 * Throws (rejects with) ProtocolError with the code the participant gets back; nothing is stored
 * before this passes. The field checks run at once; the signature and payload hash run on `pool`'s
 * worker threads when one is given (inline otherwise); decoding and screening stay on this thread.
 */
export async function verifyUpdate(
	envelope: ParsedUpdateEnvelope,
	expect: UpdateExpectations,
	pool?: VerifierPool | null
): Promise<VerifiedUpdate> {
	await verifySignedEnvelope(envelope, expect, pool);
	return screenPayload(envelope.payload, expect);
}

/**
 * The checks every update passes whatever its payload (a secure round's masked words too): round,
 * model version, the device's signature and the payload's hash. Throws ProtocolError.
 */
export async function verifySignedEnvelope(
	envelope: ParsedUpdateEnvelope,
	expect: Pick<UpdateExpectations, 'roundId' | 'modelVersion' | 'devicePublicKey'>,
	pool?: VerifierPool | null
): Promise<void> {
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
	// Signature first, then node:crypto's SHA-256 (~4 ms for a 6.65 MB CNN update; the portable
	// JS SHA-256 took ~45 ms, which capped ingestion at about 50 MB/s).
	const job: VerifyJob = {
		payload: envelope.payload,
		payloadSha256: envelope.payloadSha256,
		message,
		signature,
		publicKey: expect.devicePublicKey
	};
	const verdict = pool ? await pool.check(job) : checkInline(job);
	if (verdict === 'bad-signature') {
		throw new ProtocolError(ErrorCode.BadSignature, "signature does not verify with this device's public key");
	}
	if (verdict === 'hash-mismatch') {
		throw new ProtocolError(ErrorCode.HashMismatch, 'payload does not match the signed SHA-256');
	}
}

/**
 * Decodes and screens an update's payload. verifyUpdate ends with it, and a round resumed
 * after a restart runs its stored payloads through it again, so both fold the same delta.
 */
export function screenPayload(
	payload: Uint8Array,
	expect: Pick<UpdateExpectations, 'parameterCount' | 'screening' | 'reference' | 'encoding'>
): VerifiedUpdate {
	checkEncoding(payload, expect.encoding, expect.parameterCount);
	// No copy when the f32 values are 4-byte aligned in the payload's buffer (the usual case for
	// a large Socket.IO attachment: ws joins its frames into a fresh buffer at offset 0).
	const { values, copied } = decodeWeights(payload, { share: true });
	// One pass: finite check, norm and trust distance; the fold is the caller's second pass.
	const screened = screenAndMeasure(values, {
		expectedLength: expect.parameterCount,
		maxNorm: expect.screening.maxUpdateNorm ?? undefined,
		normPolicy: expect.screening.normPolicy,
		reference: expect.reference ?? null
	});
	if (!screened.ok) throw new ProtocolError(screened.code, screened.message);
	return {
		delta: screened.delta,
		owned: copied || screened.clipped,
		l2Norm: screened.l2Norm,
		clipped: screened.clipped,
		distance: screened.distance
	};
}

/**
 * The payload is in the project's encoding: its dtype, and for top-k at most ceil(fraction *
 * count) coordinates. Reads the header only; the body is validated by decoding. Throws ProtocolError.
 */
export function checkEncoding(payload: Uint8Array, encoding: UpdateEncoding, parameterCount: number): void {
	const { dtype, kept } = readWeightHeader(payload);
	if (dtype !== encoding.kind) {
		throw new ProtocolError(ErrorCode.SchemaInvalid, `update payload is ${dtype}, the project's update encoding is ${encoding.kind}`);
	}
	if (encoding.kind === 'top-k' && kept !== null) {
		const allowed = topKCount(encoding.fraction, parameterCount);
		if (kept > allowed) {
			throw new ProtocolError(
				ErrorCode.SchemaInvalid,
				`top-k update keeps ${kept} values, the project allows ${allowed} (fraction ${encoding.fraction} of ${parameterCount})`
			);
		}
	}
}
