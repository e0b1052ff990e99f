import { z } from 'zod';

/**
 * Socket.IO hands binary to Node as Buffer (a Uint8Array) and to browsers as ArrayBuffer;
 * both normalise to a Uint8Array view.
 */
export const BinaryPayload = z
	.custom<Uint8Array | ArrayBuffer>(
		(v) => v instanceof Uint8Array || v instanceof ArrayBuffer,
		'expected binary data'
	)
	.transform((v) => (v instanceof Uint8Array ? v : new Uint8Array(v)));
