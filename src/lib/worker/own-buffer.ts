/**
 * The array's own buffer when it spans all of it, so it can be transferred to or from a worker
 * without a copy; else a copy of just its bytes.
 */
export function ownBuffer(a: Float32Array): ArrayBuffer {
	return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer
		? a.buffer
		: (a.slice().buffer as ArrayBuffer);
}
