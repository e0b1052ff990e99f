import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDeviceKeypair, signMessage, toBase64, updateMessage } from '@qflare/pq';
import { encodeTopK, encodeWeights, ErrorCode, ProtocolError, type ParsedUpdateEnvelope } from '@qflare/protocol';
import { VerifierPool } from './verifier-pool';
import { screenPayload, verifyUpdate, type UpdateExpectations } from './verify-update';

const keys = generateDeviceKeypair(new Uint8Array(32).fill(3));
const N = 10_000;

function delta(seed: number): Float32Array {
	const out = new Float32Array(N);
	for (let i = 0; i < N; i++) out[i] = Math.sin(i * 0.37 + seed) * 0.01;
	return out;
}

function envelope(payload: Uint8Array, over: Partial<ParsedUpdateEnvelope> = {}): ParsedUpdateEnvelope {
	const payloadSha256 = createHash('sha256').update(payload).digest('hex');
	const signature = toBase64(signMessage(keys.secretKey, updateMessage({ roundId: 'round-1', modelVersion: 4, payloadSha256 })));
	return {
		roundId: 'round-1',
		modelVersion: 4,
		numSamples: 100,
		steps: 10,
		trainLoss: 1,
		trainAccuracy: 0.5,
		trainMs: 1,
		payloadSha256,
		signature,
		payload,
		...over
	} as ParsedUpdateEnvelope;
}

const expectations: UpdateExpectations = {
	roundId: 'round-1',
	modelVersion: 4,
	parameterCount: N,
	devicePublicKey: keys.publicKey,
	screening: { maxUpdateNorm: null, normPolicy: 'reject' },
	encoding: { kind: 'f32' }
};

/** The verdict as a comparable value: the screened update's figures, or the error's code and message. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
	try {
		const v = (await run()) as { delta: Float32Array; l2Norm: number; clipped: boolean; distance: number | null };
		return { delta: Array.from(v.delta.subarray(0, 5)), length: v.delta.length, l2Norm: v.l2Norm, clipped: v.clipped, distance: v.distance };
	} catch (e) {
		expect(e).toBeInstanceOf(ProtocolError);
		return { code: (e as ProtocolError).code, message: (e as Error).message };
	}
}

describe('verifyUpdate with and without a VerifierPool', () => {
	let pool: VerifierPool;
	beforeAll(async () => {
		pool = new VerifierPool({ threads: 1 });
		await pool.ready();
	});
	afterAll(async () => {
		await pool.close();
	});

	const good = encodeWeights(delta(1));
	const backing = new Uint8Array(good.byteLength + 1);
	backing.set(good, 1);
	const unaligned = backing.subarray(1); // f32 values at an odd offset: decoded through a copy
	const tampered = good.slice();
	tampered[100] ^= 1;
	const goodEnvelope = envelope(good);
	const forgedSignature = Uint8Array.from(atob(goodEnvelope.signature), (c) => c.charCodeAt(0));
	forgedSignature[7] ^= 1;
	const cases: Array<[string, ParsedUpdateEnvelope, string | null]> = [
		['a good update', goodEnvelope, null],
		['an unaligned payload view', envelope(unaligned), null],
		['a forged signature', { ...goodEnvelope, signature: toBase64(forgedSignature) }, ErrorCode.BadSignature],
		['a tampered payload', { ...goodEnvelope, payload: tampered }, ErrorCode.HashMismatch],
		['a short signature', { ...goodEnvelope, signature: toBase64(forgedSignature.subarray(0, 64)) }, ErrorCode.BadSignature],
		['no signature', { ...goodEnvelope, signature: '' }, ErrorCode.Unsigned],
		['a signature that is not base64', { ...goodEnvelope, signature: 'not base64!' }, ErrorCode.BadSignature],
		['another round', { ...goodEnvelope, roundId: 'round-2' }, ErrorCode.WrongRound],
		['another model version', { ...goodEnvelope, modelVersion: 3 }, ErrorCode.WrongModelVersion]
	];

	for (const [name, env, code] of cases) {
		it(`gives the same result inline and pooled for ${name}`, async () => {
			const inline = await outcome(() => verifyUpdate(env, expectations));
			const pooled = await outcome(() => verifyUpdate(env, expectations, pool));
			expect(pooled).toEqual(inline);
			if (code === null) expect(inline).toMatchObject({ length: N, clipped: false });
			else expect(inline).toMatchObject({ code });
		});
	}

	it('screens on the main thread after the pool: a payload of the wrong length is still rejected', async () => {
		const short = encodeWeights(delta(2).subarray(0, N - 1));
		await expect(verifyUpdate(envelope(short), expectations, pool)).rejects.toBeInstanceOf(ProtocolError);
		expect(await outcome(() => verifyUpdate(envelope(short), expectations, pool))).toEqual(await outcome(() => verifyUpdate(envelope(short), expectations)));
	});
});

describe('screenPayload checks the project\'s update encoding', () => {
	const base = { parameterCount: N, screening: expectations.screening };
	const refusal = (run: () => unknown) => {
		try {
			run();
		} catch (e) {
			expect(e).toBeInstanceOf(ProtocolError);
			return { code: (e as ProtocolError).code, message: (e as Error).message };
		}
		return null;
	};
	/** The first k indices of delta(1) as a top-k payload. */
	const topK = (k: number) =>
		encodeTopK(N, Uint32Array.from({ length: k }, (_, i) => i), delta(1).subarray(0, k));

	it('accepts each encoding in its own project and decodes it to the dense delta', () => {
		const f16 = screenPayload(encodeWeights(delta(1), 'f16'), { ...base, encoding: { kind: 'f16' } });
		expect(f16.delta.length).toBe(N);
		expect(f16.owned).toBe(true);
		const int8 = screenPayload(encodeWeights(delta(1), 'int8', { segments: [N - 10, 10], random: () => 0.5 }), { ...base, encoding: { kind: 'int8' } });
		expect(int8.delta[1]).toBeCloseTo(delta(1)[1], 4);
		// 0.1 of 10 000 values: at most 1000 kept.
		const sparse = screenPayload(topK(1000), { ...base, encoding: { kind: 'top-k', fraction: 0.1 } });
		expect(sparse.delta[999]).toBe(delta(1)[999]);
		expect(sparse.delta[1000]).toBe(0);
	});

	it('refuses a payload whose dtype is not the project\'s, naming both', () => {
		expect(refusal(() => screenPayload(encodeWeights(delta(1)), { ...base, encoding: { kind: 'int8' } }))).toEqual({
			code: ErrorCode.SchemaInvalid,
			message: "update payload is f32, the project's update encoding is int8"
		});
		expect(refusal(() => screenPayload(topK(10), { ...base, encoding: { kind: 'f32' } }))).toMatchObject({
			message: "update payload is top-k, the project's update encoding is f32"
		});
		expect(refusal(() => screenPayload(encodeWeights(delta(1), 'f16'), { ...base, encoding: { kind: 'top-k', fraction: 0.5 } }))).toMatchObject({
			code: ErrorCode.SchemaInvalid
		});
	});

	it('refuses a top-k payload keeping more than ceil(fraction * count)', () => {
		expect(refusal(() => screenPayload(topK(1001), { ...base, encoding: { kind: 'top-k', fraction: 0.1 } }))).toEqual({
			code: ErrorCode.SchemaInvalid,
			message: 'top-k update keeps 1001 values, the project allows 1000 (fraction 0.1 of 10000)'
		});
		// ceil(0.00005 * 10 000) = 1.
		expect(refusal(() => screenPayload(topK(1), { ...base, encoding: { kind: 'top-k', fraction: 0.00005 } }))).toBeNull();
		expect(refusal(() => screenPayload(topK(2), { ...base, encoding: { kind: 'top-k', fraction: 0.00005 } }))).toMatchObject({ code: ErrorCode.SchemaInvalid });
	});

	it('refuses a malformed payload in the right dtype with DECODE_FAILED', () => {
		const bad = topK(3);
		new DataView(bad.buffer).setUint32(24, 0, true); // indices 0, 0, 2: not ascending
		expect(refusal(() => screenPayload(bad, { ...base, encoding: { kind: 'top-k', fraction: 0.1 } }))).toMatchObject({ code: ErrorCode.DecodeFailed });
	});

	it('runs the same checks through verifyUpdate', async () => {
		const env = envelope(encodeWeights(delta(1), 'f16'));
		await expect(verifyUpdate(env, expectations)).rejects.toThrow("update payload is f16, the project's update encoding is f32");
		await expect(verifyUpdate(env, { ...expectations, encoding: { kind: 'f16' } })).resolves.toMatchObject({ clipped: false });
	});
});
