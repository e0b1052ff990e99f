import { connect, createServer, type Server, type Socket } from 'node:net';

export interface WireBytes {
	/** Bytes the participant wrote to the server (TCP payload: HTTP and websocket frames). */
	sent: number;
	/** Bytes the server wrote to the participant. */
	received: number;
}

/**
 * A loopback TCP relay in front of the server, one per participant, that counts the bytes
 * passing each way. The participant is pointed at the relay's port, so everything it exchanges
 * with the server (page assets, shard download, socket.io) is counted the same way for browser
 * pages and Node participants, without touching either.
 */
export class WireCounter {
	readonly bytes: WireBytes = { sent: 0, received: 0 };
	#server: Server | null = null;
	readonly #sockets = new Set<Socket>();
	#port = 0;

	constructor(readonly targetPort: number) {}

	get url(): string {
		return `http://127.0.0.1:${this.#port}`;
	}

	async start(): Promise<void> {
		const server = createServer((client) => {
			const upstream = connect(this.targetPort, '127.0.0.1');
			this.#sockets.add(client).add(upstream);
			client.on('data', (chunk: Buffer) => (this.bytes.sent += chunk.length));
			upstream.on('data', (chunk: Buffer) => (this.bytes.received += chunk.length));
			client.pipe(upstream);
			upstream.pipe(client);
			const close = (): void => {
				client.destroy();
				upstream.destroy();
				this.#sockets.delete(client);
				this.#sockets.delete(upstream);
			};
			client.on('error', close).on('close', close);
			upstream.on('error', close).on('close', close);
		});
		this.#server = server;
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(0, '127.0.0.1', () => resolve());
		});
		this.#port = (server.address() as { port: number }).port;
	}

	/** Cuts every relayed connection (a dropped-out participant loses its network too). */
	cut(): void {
		for (const s of this.#sockets) s.destroy();
		this.#sockets.clear();
	}

	async stop(): Promise<void> {
		this.cut();
		const server = this.#server;
		this.#server = null;
		if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}
