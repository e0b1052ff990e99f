import { deviceIdFromPublicKey, generateDeviceKeypair, loginMessage, sha256Hex, signMessage, toBase64, updateMessage } from '@qflare/pq';
import {
	decodeWeights,
	encodeWeights,
	PARTICIPANT_NAMESPACE,
	type ChallengeReply,
	type ErrorReply,
	type LoginReply,
	type RoundTask,
	type UpdateAccepted
} from '@qflare/protocol';
import { io, type Socket } from 'socket.io-client';
import { createRng } from '@qflare/fl';

/**
 * - forged-signature: signs every update with a key other than the one it registered;
 * - scaled-garbage: signs correctly, but sends uniform noise scaled by 1e3 instead of training.
 */
export type Attack = 'forged-signature' | 'scaled-garbage';

/** An attacker that registers honestly, then answers every task with a bad update; records the server's answers. */
export class AttackingParticipant {
	readonly replies: (UpdateAccepted | ErrorReply)[] = [];
	#socket: Socket | null = null;
	readonly #rng = createRng(7);

	constructor(readonly attack: Attack) {}

	/** Registers with the project's join token (new devices need one), then answers every task with its attack. */
	async join(baseUrl: string, projectId: string, joinToken: string): Promise<string> {
		const identity = generateDeviceKeypair();
		const impostor = generateDeviceKeypair();
		const socket = io(`${baseUrl}${PARTICIPANT_NAMESPACE}`, { transports: ['websocket'] });
		this.#socket = socket;
		const challenge = (await socket.emitWithAck('auth:challenge', {
			projectId,
			publicKey: toBase64(identity.publicKey),
			kind: 'node',
			joinToken
		})) as ChallengeReply | ErrorReply;
		if (!challenge.ok) throw new Error(`challenge: ${challenge.code}`);
		const signature = signMessage(identity.secretKey, loginMessage({ projectId, deviceId: challenge.deviceId, nonce: challenge.nonce }));
		const login = (await socket.emitWithAck('auth:login', {
			deviceId: challenge.deviceId,
			nonce: challenge.nonce,
			signature: toBase64(signature),
			userAgent: `attacker (${this.attack})`
		})) as LoginReply | ErrorReply;
		if (!login.ok) throw new Error(`login: ${login.code}`);
		socket.on('round:task', (task: RoundTask) => {
			const global = decodeWeights(new Uint8Array(task.weights as ArrayBuffer)).values;
			const delta = new Float32Array(global.length);
			for (let i = 0; i < delta.length; i++) delta[i] = this.attack === 'scaled-garbage' ? (this.#rng.next() * 2 - 1) * 1e3 : 0.5;
			const payload = encodeWeights(delta);
			const payloadSha256 = sha256Hex(payload);
			const signer = this.attack === 'forged-signature' ? impostor : identity;
			const signature = signMessage(signer.secretKey, updateMessage({ roundId: task.roundId, modelVersion: task.modelVersion, payloadSha256 }));
			void socket
				.timeout(30_000)
				.emitWithAck('round:update', {
					roundId: task.roundId,
					modelVersion: task.modelVersion,
					numSamples: 1000,
					steps: 100,
					trainLoss: 0.1,
					trainAccuracy: 0.99,
					trainMs: 10,
					payloadSha256,
					signature: toBase64(signature),
					payload
				})
				.then((reply: UpdateAccepted | ErrorReply) => this.replies.push(reply));
		});
		const status = (await socket.emitWithAck('device:status', { backend: 'cpu', backendReason: this.attack, samples: 1000 })) as
			| { ok: true }
			| ErrorReply;
		if (!status.ok) throw new Error(`status: ${status.code}`);
		if (deviceIdFromPublicKey(identity.publicKey) !== challenge.deviceId) throw new Error('device id mismatch');
		return challenge.deviceId;
	}

	close(): void {
		this.#socket?.close();
	}
}
