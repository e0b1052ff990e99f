import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ML_DSA65_PUBLIC_KEY_BYTES, ML_DSA65_SIGNATURE_BYTES, verifySignature } from '@qflare/pq';

/** What an update's signature and payload hash come to; verifyUpdate maps it to a ProtocolError. */
export type VerifyVerdict = 'ok' | 'bad-signature' | 'hash-mismatch';

export interface VerifyJob {
	/** The update's bytes as received; the pool copies them and never writes or transfers this view. */
	payload: Uint8Array;
	/** Lowercase hex SHA-256 the device signed. */
	payloadSha256: string;
	/** The signed message (updateMessage of round, model version and payloadSha256). */
	message: Uint8Array;
	signature: Uint8Array;
	publicKey: Uint8Array;
}

/**
 * The check on the calling thread: the signature first (a forgery is rejected before the payload is
 * hashed), then node:crypto's SHA-256 of the payload. The worker (verifier-worker.mjs) does the same.
 */
export function checkInline(job: VerifyJob): VerifyVerdict {
	if (!verifySignature(job.publicKey, job.message, job.signature)) return 'bad-signature';
	return createHash('sha256').update(job.payload).digest('hex') === job.payloadSha256 ? 'ok' : 'hash-mismatch';
}

/**
 * Worker count: QFLARE_VERIFY_THREADS when set (0: no workers, verify on the main thread), else
 * one worker per core but one (the main thread decodes, screens and folds), at least 1.
 */
export function resolveVerifyThreads(env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): number {
	const raw = env.QFLARE_VERIFY_THREADS;
	if (raw !== undefined && raw.trim() !== '') {
		const n = Number(raw);
		if (!Number.isSafeInteger(n) || n < 0) throw new Error(`QFLARE_VERIFY_THREADS must be a non-negative integer, got "${raw}"`);
		return n;
	}
	return Math.max(1, cores - 1);
}

export interface VerifierPoolOptions {
	/** Worker threads; default resolveVerifyThreads() (QFLARE_VERIFY_THREADS, else cores - 1). 0 checks inline. */
	threads?: number;
	/** Told when a worker stops (its jobs are rejected) or cannot start (checks fall back inline). */
	log?: (message: string) => void;
}

interface Task {
	job: VerifyJob;
	resolve: (verdict: VerifyVerdict) => void;
	reject: (error: Error) => void;
}

interface Slot {
	/** Reused between jobs: allocating (and zeroing) a fresh 6.65 MB buffer costs ~10x the copy into it. */
	buffer: SharedArrayBuffer | null;
	busy: boolean;
}

interface Lane {
	worker: Worker;
	/** True once the worker has loaded and warmed up (it says so); jobs go only to ready lanes. */
	ready: boolean;
	/** Job id -> its task and the slot holding its payload; a crash rejects all of them. */
	inFlight: Map<number, { task: Task | null; slot: Slot | null }>;
	slots: Slot[];
	lastError: Error | null;
	/** Drops the slots' buffers once the worker has been idle a while (they hold up to 2 payloads each). */
	idleTimer: NodeJS.Timeout | null;
}

/** Jobs a worker holds at once: one running, one waiting, so it never idles on the main thread's dispatch. */
const IN_FLIGHT_PER_WORKER = 2;
/** A slot that grew past this (an unusually large payload) is dropped after its job instead of kept. */
const SLOT_KEEP_BYTES = 32 * 1024 * 1024;
const SLOT_GRANULE = 1024 * 1024;
/** Idle time after which a worker's slot buffers are freed (a burst of updates keeps them). */
const SLOT_IDLE_MS = 10_000;
const WORKER_URL = new URL('./verifier-worker.mjs', import.meta.url);

/**
 * Spreads the signature check and payload hash of updates over worker threads, so every core but
 * the main one works on ingestion. Jobs wait in one FIFO queue; each goes to the ready worker with
 * the fewest jobs (ties round-robin). The payload is copied into a reused SharedArrayBuffer slot of
 * that worker: ~0.4 ms on the main thread for a 6.65 MB CNN update, against ~5 ms of signature check
 * and hash moved off it (a copy into a transferred ArrayBuffer cost 0.75 ms, a fresh
 * SharedArrayBuffer 3.2 ms). The caller's buffer is never transferred: the main thread still screens it.
 * A worker that dies rejects its jobs with an Error and is replaced; workers never keep the process
 * alive while idle. A worker that cannot start is not retried; with none left, checks run inline.
 */
export class VerifierPool {
	readonly threads: number;
	#lanes: (Lane | null)[] = [];
	#queue: Task[] = [];
	#nextId = 1;
	#rr = 0;
	#closed = false;
	#log: (message: string) => void;

	constructor(options: VerifierPoolOptions = {}) {
		this.#log = options.log ?? (() => {});
		const threads = options.threads ?? resolveVerifyThreads();
		if (!Number.isSafeInteger(threads) || threads < 0) throw new Error(`VerifierPool threads must be a non-negative integer, got ${threads}`);
		this.threads = threads;
		for (let i = 0; i < threads; i++) this.#lanes.push(this.#spawn(i));
	}

	/** Workers alive (started or starting); below `threads` only after workers failed to start. */
	get workers(): number {
		return this.#lanes.filter((lane) => lane !== null).length;
	}

	/** Jobs queued or running in workers. */
	get pending(): number {
		let n = this.#queue.length;
		for (const lane of this.#lanes) if (lane) n += lane.inFlight.size;
		return n;
	}

	check(job: VerifyJob): Promise<VerifyVerdict> {
		if (this.#closed) return Promise.reject(new Error('verifier pool is closed'));
		// Same input checks as @qflare/pq's verifySignature, here so a malformed key or signature
		// costs no copy; the worker assumes them.
		if (
			!(job.publicKey instanceof Uint8Array) ||
			!(job.message instanceof Uint8Array) ||
			!(job.signature instanceof Uint8Array) ||
			job.publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES ||
			job.signature.length !== ML_DSA65_SIGNATURE_BYTES
		) {
			return Promise.resolve('bad-signature');
		}
		if (!(job.payload instanceof Uint8Array)) return Promise.reject(new TypeError('payload must be a Uint8Array'));
		if (!this.#lanes.some((lane) => lane !== null)) return this.#inline(job);
		return new Promise<VerifyVerdict>((resolve, reject) => {
			this.#queue.push({ job, resolve, reject });
			this.#pump();
		});
	}

	/** Rejects queued and running jobs and stops the workers. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		const error = () => new Error('verifier pool is closed');
		for (const task of this.#queue.splice(0)) task.reject(error());
		const lanes = this.#lanes.filter((lane): lane is Lane => lane !== null);
		this.#lanes = [];
		for (const lane of lanes) {
			if (lane.idleTimer) clearTimeout(lane.idleTimer);
			for (const { task } of lane.inFlight.values()) task?.reject(error());
			lane.inFlight.clear();
		}
		await Promise.all(lanes.map((lane) => lane.worker.terminate()));
	}

	/**
	 * Test hook: worker `index` throws an uncaught error when it reaches this message, so the jobs
	 * sent to it after this call die with it (rejected) and the pool replaces it.
	 */
	crashWorkerForTest(index = 0): void {
		const lane = this.#lanes[index];
		if (!lane) throw new Error(`no live verifier worker ${index}`);
		const id = this.#nextId++;
		lane.inFlight.set(id, { task: null, slot: null });
		lane.worker.ref();
		lane.worker.postMessage({ id, crash: true });
	}

	/** Resolves once every worker has loaded (tests and benchmarks that time checks, not start-up). */
	async ready(): Promise<void> {
		while (!this.#closed && this.#lanes.some((lane) => lane !== null && !lane.ready)) {
			await new Promise((r) => setTimeout(r, 5));
		}
	}

	#inline(job: VerifyJob): Promise<VerifyVerdict> {
		try {
			return Promise.resolve(checkInline(job));
		} catch (e) {
			return Promise.reject(e instanceof Error ? e : new Error(String(e)));
		}
	}

	#spawn(index: number): Lane {
		const worker = new Worker(WORKER_URL);
		worker.unref();
		const lane: Lane = {
			worker,
			ready: false,
			inFlight: new Map(),
			slots: Array.from({ length: IN_FLIGHT_PER_WORKER }, () => ({ buffer: null, busy: false })),
			lastError: null,
			idleTimer: null
		};
		worker.on('message', (m: { ready?: true; id?: number; verdict?: VerifyVerdict; error?: string }) => {
			if (m.ready) {
				lane.ready = true;
				this.#pump();
				return;
			}
			const entry = m.id === undefined ? undefined : lane.inFlight.get(m.id);
			if (!entry) return;
			lane.inFlight.delete(m.id!);
			this.#release(entry.slot);
			if (lane.inFlight.size === 0) {
				worker.unref();
				this.#freeSlotsWhenIdle(lane);
			}
			if (m.verdict) entry.task?.resolve(m.verdict);
			else entry.task?.reject(new Error(`verifier worker: ${m.error ?? 'no verdict'}`));
			this.#pump();
		});
		worker.on('error', (e) => {
			lane.lastError = e;
		});
		worker.on('exit', (code) => {
			if (lane.idleTimer) clearTimeout(lane.idleTimer);
			if (this.#lanes[index] !== lane) return; // closed, or already replaced
			const why = lane.lastError ? `: ${lane.lastError.message}` : '';
			for (const { task } of lane.inFlight.values()) task?.reject(new Error(`verifier worker stopped (exit code ${code})${why}`));
			lane.inFlight.clear();
			this.#log(
				lane.ready
					? `verifier worker ${index} stopped (exit code ${code})${why}; its jobs were rejected, starting another`
					: `verifier worker ${index} could not start (exit code ${code})${why}; not retried`
			);
			// A worker that died before it loaded would die again: its lane stays empty. If none is
			// left, queued and later jobs run inline.
			this.#lanes[index] = lane.ready && !this.#closed ? this.#spawn(index) : null;
			if (!this.#lanes.some((l) => l !== null)) {
				for (const task of this.#queue.splice(0)) this.#inline(task.job).then(task.resolve, task.reject);
			}
			this.#pump();
		});
		return lane;
	}

	#freeSlotsWhenIdle(lane: Lane): void {
		if (lane.idleTimer) clearTimeout(lane.idleTimer);
		lane.idleTimer = setTimeout(() => {
			lane.idleTimer = null;
			if (lane.inFlight.size === 0) for (const slot of lane.slots) slot.buffer = null;
		}, SLOT_IDLE_MS);
		lane.idleTimer.unref();
	}

	#release(slot: Slot | null): void {
		if (!slot) return;
		slot.busy = false;
		if (slot.buffer && slot.buffer.byteLength > SLOT_KEEP_BYTES) slot.buffer = null;
	}

	#pump(): void {
		while (this.#queue.length > 0 && !this.#closed) {
			const lane = this.#pickLane();
			if (!lane) return;
			const task = this.#queue.shift()!;
			const slot = lane.slots.find((s) => !s.busy)!;
			const { payload } = task.job;
			if (!slot.buffer || slot.buffer.byteLength < payload.byteLength) {
				slot.buffer = new SharedArrayBuffer(Math.max(SLOT_GRANULE, Math.ceil(payload.byteLength / SLOT_GRANULE) * SLOT_GRANULE));
			}
			new Uint8Array(slot.buffer, 0, payload.byteLength).set(payload);
			slot.busy = true;
			const id = this.#nextId++;
			lane.inFlight.set(id, { task, slot });
			lane.worker.ref();
			// The small arrays are copied into fresh ones: a view (a pooled Buffer's) would clone its whole backing store.
			lane.worker.postMessage({
				id,
				payload: slot.buffer,
				length: payload.byteLength,
				payloadSha256: task.job.payloadSha256,
				message: new Uint8Array(task.job.message),
				signature: new Uint8Array(task.job.signature),
				publicKey: new Uint8Array(task.job.publicKey)
			});
		}
	}

	/** The ready lane with the fewest jobs and a free slot; ties go round-robin. */
	#pickLane(): Lane | null {
		let best: Lane | null = null;
		const n = this.#lanes.length;
		for (let k = 0; k < n; k++) {
			const lane = this.#lanes[(this.#rr + k) % n];
			if (!lane || !lane.ready || !lane.slots.some((s) => !s.busy) || lane.inFlight.size >= IN_FLIGHT_PER_WORKER) continue;
			if (!best || lane.inFlight.size < best.inFlight.size) best = lane;
		}
		if (best) this.#rr = (this.#lanes.indexOf(best) + 1) % n;
		return best;
	}
}
