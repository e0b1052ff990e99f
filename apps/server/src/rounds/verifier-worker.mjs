// Worker thread of VerifierPool (verifier-pool.ts). Plain ESM JavaScript: Vitest does not
// transform worker files and production runs the server under `node --import tsx`, so this file
// must load under bare Node. Same check as verifyUpdate inline: @qflare/pq's verifySignature
// (ML-DSA-65 of @noble/post-quantum, empty context; any throw is a failed check), then the
// node:crypto SHA-256 of the payload against the signed hex digest.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';

if (!parentPort) throw new Error('verifier-worker.mjs runs only as a worker thread');
const port = parentPort;

/**
 * job: { id, payload: SharedArrayBuffer, length, payloadSha256, message, signature, publicKey }
 * The pool checked the key and signature lengths already; the payload is the first `length`
 * bytes of a shared slot the pool does not touch again until this job's reply.
 */
port.on('message', (job) => {
	if (job.crash) throw new Error('crash requested by VerifierPool.crashWorkerForTest');
	let verdict;
	try {
		let signed = false;
		try {
			signed = ml_dsa65.verify(job.signature, job.message, job.publicKey) === true;
		} catch {
			signed = false;
		}
		if (!signed) verdict = 'bad-signature';
		else {
			const payload = new Uint8Array(job.payload, 0, job.length);
			verdict = createHash('sha256').update(payload).digest('hex') === job.payloadSha256 ? 'ok' : 'hash-mismatch';
		}
	} catch (e) {
		port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
		return;
	}
	port.postMessage({ id: job.id, verdict });
});

// Warm up before taking jobs: the first ML-DSA-65 verify in a fresh thread takes ~30 ms (tables,
// JIT) against ~2 ms after; this pays it here instead of on a device's update.
{
	const keys = ml_dsa65.keygen(new Uint8Array(32).fill(1));
	const message = new Uint8Array(64).fill(2);
	const signature = ml_dsa65.sign(message, keys.secretKey);
	for (let i = 0; i < 3; i++) ml_dsa65.verify(signature, message, keys.publicKey);
}

// Loaded and warm: the pool starts sending jobs (a worker that dies before this is not respawned).
port.postMessage({ ready: true });
