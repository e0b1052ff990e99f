import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDeviceKeypair, signMessage, updateMessage } from '@qflare/pq';
import { checkInline, resolveVerifyThreads, VerifierPool, type VerifyJob } from './verifier-pool';

const keys = generateDeviceKeypair(new Uint8Array(32).fill(7));
const other = generateDeviceKeypair(new Uint8Array(32).fill(9));

function signedJob(payload: Uint8Array, roundId = 'r1'): VerifyJob {
	const payloadSha256 = createHash('sha256').update(payload).digest('hex');
	const message = updateMessage({ roundId, modelVersion: 3, payloadSha256 });
	return { payload, payloadSha256, message, signature: signMessage(keys.secretKey, message), publicKey: keys.publicKey };
}

function bytes(n: number, seed: number): Uint8Array {
	const out = new Uint8Array(n);
	for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
	return out;
}

describe('VerifierPool', () => {
	let pool: VerifierPool;
	beforeAll(async () => {
		pool = new VerifierPool({ threads: 2 });
		await pool.ready();
		expect(pool.workers).toBe(2);
	});
	afterAll(async () => {
		await pool.close();
	});

	it('gives the inline verdicts: good, forged, tampered, unaligned view, wrong key, malformed signature', async () => {
		const good = signedJob(bytes(1 << 20, 1));
		const forgedSig = good.signature.slice();
		forgedSig[100] ^= 1;
		const forged = { ...good, signature: forgedSig };
		const tamperedPayload = good.payload.slice();
		tamperedPayload[12345] ^= 1;
		const tampered = { ...good, payload: tamperedPayload };
		// A view at an odd offset of a larger buffer, as a Socket.IO attachment can be.
		const backing = new Uint8Array(70_003);
		const unalignedPayload = backing.subarray(3, 3 + 70_000);
		unalignedPayload.set(bytes(70_000, 5));
		const unaligned = signedJob(unalignedPayload);
		const wrongKey = { ...good, publicKey: other.publicKey };
		const shortSig = { ...good, signature: good.signature.subarray(0, 100) };
		const cases = [good, forged, tampered, unaligned, wrongKey, shortSig];
		const pooled = await Promise.all(cases.map((job) => pool.check(job)));
		expect(pooled).toEqual(cases.map((job) => checkInline(job)));
		expect(pooled).toEqual(['ok', 'bad-signature', 'hash-mismatch', 'ok', 'bad-signature', 'bad-signature']);
		// The caller's buffers are untouched and still usable (copied, never transferred).
		expect(good.payload.byteLength).toBe(1 << 20);
		expect(unalignedPayload.byteLength).toBe(70_000);
		expect(backing.buffer.byteLength).toBe(70_003);
	});

	it('answers 50 concurrent checks, each with its own verdict', async () => {
		const jobs = Array.from({ length: 50 }, (_, i) => {
			const job = signedJob(bytes(50_000 + i * 101, i), `round-${i}`);
			if (i % 5 === 1) return { ...job, payload: bytes(50_000 + i * 101, i + 1) }; // tampered
			if (i % 5 === 2) return { ...job, publicKey: other.publicKey }; // forged
			return job;
		});
		const verdicts = await Promise.all(jobs.map((job) => pool.check(job)));
		expect(verdicts).toEqual(jobs.map((_, i) => (i % 5 === 1 ? 'hash-mismatch' : i % 5 === 2 ? 'bad-signature' : 'ok')));
		expect(pool.pending).toBe(0);
	});

	it('rejects the jobs of a worker that dies, replaces it and keeps answering', async () => {
		const logged: string[] = [];
		const solo = new VerifierPool({ threads: 1, log: (m) => logged.push(m) });
		try {
			await solo.ready();
			solo.crashWorkerForTest(0);
			await expect(solo.check(signedJob(bytes(1000, 1)))).rejects.toThrow(/verifier worker stopped/);
			await expect(solo.check(signedJob(bytes(1000, 2)))).resolves.toBe('ok');
			expect(solo.workers).toBe(1);
			expect(logged).toEqual([expect.stringMatching(/verifier worker 0 stopped .*crash requested/)]);
			await expect(solo.check({ ...signedJob(bytes(1000, 3)), payloadSha256: '0'.repeat(64) })).resolves.toBe('hash-mismatch');
		} finally {
			await solo.close();
		}
	});

	it('rejects checks after close, and jobs still queued at close', async () => {
		const p = new VerifierPool({ threads: 1 });
		// Queued: the worker has not said it is ready yet.
		const queued = p.check(signedJob(bytes(1000, 4))).then(
			() => 'answered',
			(e: Error) => e.message
		);
		await p.close();
		expect(await queued).toMatch(/closed/);
		await expect(p.check(signedJob(bytes(1000, 5)))).rejects.toThrow(/closed/);
	});

	it('with 0 threads checks inline', async () => {
		const inline = new VerifierPool({ threads: 0 });
		const job = signedJob(bytes(1000, 6));
		await expect(inline.check(job)).resolves.toBe('ok');
		await expect(inline.check({ ...job, payload: bytes(1000, 7) })).resolves.toBe('hash-mismatch');
		await inline.close();
		await expect(inline.check(job)).rejects.toThrow(/closed/);
	});
});

describe('resolveVerifyThreads', () => {
	it('defaults to cores - 1, at least 1; QFLARE_VERIFY_THREADS overrides', () => {
		expect(resolveVerifyThreads({}, 16)).toBe(15);
		expect(resolveVerifyThreads({}, 1)).toBe(1);
		expect(resolveVerifyThreads({ QFLARE_VERIFY_THREADS: '0' }, 16)).toBe(0);
		expect(resolveVerifyThreads({ QFLARE_VERIFY_THREADS: '3' }, 2)).toBe(3);
		expect(() => resolveVerifyThreads({ QFLARE_VERIFY_THREADS: '-1' }, 2)).toThrow(/non-negative/);
		expect(() => resolveVerifyThreads({ QFLARE_VERIFY_THREADS: 'two' }, 2)).toThrow(/non-negative/);
	});
});
