// Baseline for ingestion: a plain `ws` server that only receives each binary message and acks
// it with its length. Same process layout as the Qflare server child.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024 });
wss.on('connection', (socket) => {
	socket.on('message', (data: Buffer, isBinary: boolean) => {
		socket.send(JSON.stringify({ ok: true, bytes: isBinary ? data.length : 0 }));
	});
});
wss.on('listening', () => {
	const address = wss.address();
	if (address === null || typeof address === 'string') throw new Error('unexpected server address');
	console.log(JSON.stringify({ url: `ws://127.0.0.1:${address.port}`, pid: process.pid }));
});
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
