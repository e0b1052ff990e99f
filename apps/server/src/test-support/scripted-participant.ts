import { generateDeviceKeypair, loginMessage, sha256Hex, signMessage, toBase64, updateMessage, type DeviceKeypair } from '@qflare/pq';
import {
	encodeWeights,
	PARTICIPANT_NAMESPACE,
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

/** A scripted participant: logs in with its own ML-DSA key and sends exactly what a test tells it to. */
export class ScriptedParticipant {
	readonly socket: Socket;
	deviceId = '';
	task: Promise<RoundTask>;
	/** Every model:evaluate request received, in order. */
	readonly evaluations: EvaluationTask[] = [];

	/** Pass another participant's keys to be that device again (a reloaded tab). */
	constructor(
		url: string,
		readonly keys: DeviceKeypair = generateDeviceKeypair()
	) {
		this.socket = io(`${url}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
		this.task = new Promise((resolve) => this.socket.once('round:task', resolve));
		this.socket.on('model:evaluate', (t: EvaluationTask) => this.evaluations.push(t));
	}

	/** Logs in and, unless `status` is null, reports a device status (100 samples by default). */
	async login(projectId: string, status: DeviceStatusReport | null = DEFAULT_STATUS): Promise<LoginReply> {
		const challenge = await this.socket.emitWithAck('auth:challenge', { projectId, publicKey: toBase64(this.keys.publicKey), kind: 'node' });
		expect(challenge.ok).toBe(true);
		this.deviceId = challenge.deviceId;
		const signature = signMessage(this.keys.secretKey, loginMessage({ projectId, deviceId: this.deviceId, nonce: challenge.nonce }));
		const login = await this.socket.emitWithAck('auth:login', { deviceId: this.deviceId, nonce: challenge.nonce, signature: toBase64(signature) });
		expect(login).toMatchObject({ ok: true, deviceId: this.deviceId });
		if (status) expect(await this.socket.emitWithAck('device:status', status)).toEqual({ ok: true });
		return login as LoginReply;
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
