import {
	generateDeviceKeypair,
	loginMessage,
	rotateKeyMessage,
	sha256Hex,
	signMessage,
	toBase64,
	updateMessage,
	type DeviceKeypair
} from '@qflare/pq';
import {
	encodeWeights,
	PARTICIPANT_NAMESPACE,
	type DeviceRevoked,
	type DeviceStatusReport,
	type ErrorReply,
	type EvaluationTask,
	type LoginReply,
	type RoundTask
} from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';

export type Reply = { ok: true; [k: string]: unknown } | ErrorReply;

const DEFAULT_STATUS: DeviceStatusReport = { backend: 'cpu', backendReason: 'test', samples: 100 };

export interface ScriptedParticipantOptions {
	/** Another participant's keys make this one that device again (a reloaded tab). */
	keys?: DeviceKeypair;
	/** The join token a new device registers with: one token, or a lookup by project id. */
	joinToken?: string | null | ((projectId: string) => string | undefined);
	/** The id of a device whose key was rotated (it no longer derives from the key). */
	deviceId?: string;
}

/** A scripted participant: logs in with its own ML-DSA key and sends exactly what a test tells it to. */
export class ScriptedParticipant {
	readonly socket: Socket;
	deviceId = '';
	keys: DeviceKeypair;
	task: Promise<RoundTask>;
	/** Every model:evaluate request received, in order. */
	readonly evaluations: EvaluationTask[] = [];
	/** The device:revoked notice, once the server sent one. */
	revoked: DeviceRevoked | null = null;
	readonly #joinToken: ScriptedParticipantOptions['joinToken'];
	readonly #claimedId: string | undefined;

	constructor(url: string, options: ScriptedParticipantOptions = {}) {
		this.keys = options.keys ?? generateDeviceKeypair();
		this.#joinToken = options.joinToken;
		this.#claimedId = options.deviceId;
		this.socket = io(`${url}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
		this.task = new Promise((resolve) => this.socket.once('round:task', resolve));
		this.socket.on('model:evaluate', (t: EvaluationTask) => this.evaluations.push(t));
		this.socket.on('device:revoked', (r: DeviceRevoked) => (this.revoked = r));
	}

	/** Logs in and, unless `status` is null, reports a device status (100 samples by default). */
	async login(projectId: string, status: DeviceStatusReport | null = DEFAULT_STATUS): Promise<LoginReply> {
		const login = await this.tryLogin(projectId);
		expect(login).toMatchObject({ ok: true, deviceId: this.deviceId });
		if (status) expect(await this.socket.emitWithAck('device:status', status)).toEqual({ ok: true });
		return login as LoginReply;
	}

	/**
	 * Challenge and login, whatever the server answers: the refusal of either step, or the login
	 * reply. `joinToken` overrides the one given at construction (null sends none).
	 */
	async tryLogin(projectId: string, options: { joinToken?: string | null } = {}): Promise<LoginReply | ErrorReply> {
		const joinToken = options.joinToken !== undefined ? options.joinToken : this.#tokenFor(projectId);
		const challenge = await this.socket.timeout(10_000).emitWithAck('auth:challenge', {
			projectId,
			publicKey: toBase64(this.keys.publicKey),
			kind: 'node',
			...(joinToken ? { joinToken } : {}),
			...(this.#claimedId ? { deviceId: this.#claimedId } : {})
		});
		if (!challenge.ok) return challenge as ErrorReply;
		this.deviceId = challenge.deviceId;
		const signature = signMessage(this.keys.secretKey, loginMessage({ projectId, deviceId: this.deviceId, nonce: challenge.nonce }));
		return this.socket.timeout(10_000).emitWithAck('auth:login', { deviceId: this.deviceId, nonce: challenge.nonce, signature: toBase64(signature) });
	}

	/**
	 * Asks to replace the key with `next` (logged in only); the rotation is signed by `signWith`
	 * (default: the current key) and by the new key. Keeps `next` only when the server accepts.
	 */
	async rotateKey(projectId: string, next: DeviceKeypair, options: { signWith?: DeviceKeypair } = {}): Promise<Reply> {
		const newPublicKey = toBase64(next.publicKey);
		const message = rotateKeyMessage({ projectId, deviceId: this.deviceId, newPublicKey });
		const reply: Reply = await this.ask('auth:rotate-key', {
			newPublicKey,
			signature: toBase64(signMessage((options.signWith ?? this.keys).secretKey, message)),
			newSignature: toBase64(signMessage(next.secretKey, message))
		});
		if (reply.ok) this.keys = next;
		return reply;
	}

	#tokenFor(projectId: string): string | null {
		const token = this.#joinToken;
		return (typeof token === 'function' ? token(projectId) : token) ?? null;
	}

	envelope(task: RoundTask, delta: Float32Array, numSamples: number, options: { signWith?: DeviceKeypair; roundId?: string } = {}) {
		const payload = encodeWeights(delta);
		const payloadSha256 = sha256Hex(payload);
		const roundId = options.roundId ?? task.roundId;
		const signature = signMessage((options.signWith ?? this.keys).secretKey, updateMessage({ roundId, modelVersion: task.modelVersion, payloadSha256 }));
		return { roundId, modelVersion: task.modelVersion, numSamples, steps: 10, trainLoss: 0.5, trainAccuracy: 0.8, trainMs: 5, payloadSha256, signature: toBase64(signature), payload };
	}

	send(envelope: unknown): Promise<Reply> {
		return this.socket.timeout(10_000).emitWithAck('round:update', envelope);
	}

	/** Emits any event with an ack and returns the server's reply. */
	ask(event: string, payload: unknown): Promise<Reply> {
		return this.socket.timeout(10_000).emitWithAck(event, payload);
	}
}
