/** Every error a client can receive, over a socket ack or an HTTP body. */
export const ErrorCode = {
	SchemaInvalid: 'SCHEMA_INVALID',
	Unauthenticated: 'UNAUTHENTICATED',
	/** Authenticated, but the role or key scope does not allow it. */
	Forbidden: 'FORBIDDEN',
	/** Missing, unknown, revoked, expired or used-up join token. */
	JoinTokenInvalid: 'JOIN_TOKEN_INVALID',
	/** An admin revoked this device: it cannot log in or send updates again. */
	DeviceRevoked: 'DEVICE_REVOKED',
	RateLimited: 'RATE_LIMITED',
	TooLarge: 'TOO_LARGE',
	UnknownProject: 'UNKNOWN_PROJECT',
	UnknownDevice: 'UNKNOWN_DEVICE',
	NotFound: 'NOT_FOUND',
	Conflict: 'CONFLICT',
	Unsigned: 'UNSIGNED',
	BadSignature: 'BAD_SIGNATURE',
	Replay: 'REPLAY',
	WrongRound: 'WRONG_ROUND',
	WrongModelVersion: 'WRONG_MODEL_VERSION',
	NotSelected: 'NOT_SELECTED',
	RoundClosed: 'ROUND_CLOSED',
	HashMismatch: 'HASH_MISMATCH',
	DecodeFailed: 'DECODE_FAILED',
	WrongShape: 'WRONG_SHAPE',
	NonFinite: 'NON_FINITE',
	NormTooLarge: 'NORM_TOO_LARGE',
	Internal: 'INTERNAL'
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorReply {
	ok: false;
	code: ErrorCode;
	message: string;
}

export class ProtocolError extends Error {
	constructor(
		readonly code: ErrorCode,
		message: string
	) {
		super(message);
		this.name = 'ProtocolError';
	}

	toReply(): ErrorReply {
		return { ok: false, code: this.code, message: this.message };
	}
}

export function errorReply(code: ErrorCode, message: string): ErrorReply {
	return { ok: false, code, message };
}
