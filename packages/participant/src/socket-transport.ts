import { io, type Socket } from 'socket.io-client';
import { PARTICIPANT_NAMESPACE, type ParticipantServerEvents } from '@qflare/protocol';
import type { AckEvent, ConnectionHandlers, ParticipantSocket, ReplyOf, RequestOf } from './ports';

export interface SocketIoParticipantOptions {
	/** First reconnection delay (default 1 s); socket.io doubles it up to the maximum, with jitter. */
	reconnectionDelayMs?: number;
	/** Longest wait between reconnection attempts (default 10 s). */
	reconnectionDelayMaxMs?: number;
}

/** ParticipantSocket over socket.io-client, websocket transport only (binary updates). */
export class SocketIoParticipantSocket implements ParticipantSocket {
	// Untyped inside: the typed surface is the ParticipantSocket interface.
	private readonly socket: Socket;

	constructor(origin: string, options: SocketIoParticipantOptions = {}) {
		this.socket = io(`${origin}${PARTICIPANT_NAMESPACE}`, {
			// Polling base64-encodes binary and fails above ~1 MB (FACTS.md).
			transports: ['websocket'],
			autoConnect: false,
			reconnectionDelay: options.reconnectionDelayMs ?? 1_000,
			reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 10_000
		});
	}

	connect(): void {
		this.socket.connect();
	}

	disconnect(): void {
		this.socket.disconnect();
	}

	onConnection(handlers: ConnectionHandlers): void {
		this.socket.on('connect', () => handlers.connect());
		this.socket.on('disconnect', (reason) => handlers.disconnect(reason));
		this.socket.on('connect_error', (error) => handlers.error(error.message));
	}

	on<E extends keyof ParticipantServerEvents>(event: E, handler: ParticipantServerEvents[E]): void {
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- socket.io's untyped listener signature
		this.socket.on(event as string, handler as (...args: any[]) => void);
	}

	request<E extends AckEvent>(event: E, payload: RequestOf<E>, timeoutMs: number): Promise<ReplyOf<E>> {
		// emitWithAck rejects on timeout and, since socket.io-client 4.7, on disconnect.
		return this.socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<ReplyOf<E>>;
	}

	notify(event: 'round:progress', payload: RequestOf<'round:progress'>): void {
		// Volatile: a progress report that cannot go out now is worthless later.
		this.socket.volatile.emit(event, payload);
	}
}
