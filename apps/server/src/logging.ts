import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type LogValue = string | number | boolean | null;
/** Flat fields of one log event (ids, counts, durations): flat so every line stays one greppable JSON object. */
export type LogFields = Readonly<Record<string, LogValue>>;
/**
 * How the server reports an event: a message and optional fields (requestId, roundId, deviceId...).
 * Any `(message: string) => void` callers already pass stays valid: fields are optional.
 */
export type Log = (message: string, fields?: LogFields) => void;

/** The default without a logger (tests, embedding): one readable line per event on stdout. */
export const consoleLog: Log = (message, fields) => {
	console.log(fields && Object.keys(fields).length > 0 ? `[qflare] ${message} ${JSON.stringify(fields)}` : `[qflare] ${message}`);
};

/** Field names whose values are credentials; redacted wherever a caller passes them by mistake. */
const SECRET_FIELDS = ['authorization', 'cookie', 'setCookie', 'set-cookie', 'password', 'token', 'apiKey', 'key', 'secret'];

/**
 * JSON lines on stdout: `{"level":"info","time":"…","instance":"…","msg":"…",…fields}`, one per
 * event, for a log collector. LOG_LEVEL (default info) filters; `destination` is for tests.
 */
export function createJsonLogger(instance: string, options: { level?: string; destination?: DestinationStream } = {}): Logger {
	const settings: LoggerOptions = {
		level: options.level ?? (process.env.LOG_LEVEL || 'info'),
		base: { instance, pid: process.pid },
		timestamp: pino.stdTimeFunctions.isoTime,
		// The label reads better in a collector than pino's numeric level.
		formatters: { level: (label) => ({ level: label }) },
		redact: { paths: SECRET_FIELDS.map((f) => `["${f}"]`), censor: '[redacted]' }
	};
	return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** The server's `log` over a pino logger: every event at info with its fields. */
export function pinoLog(logger: Logger): Log {
	return (message, fields) => logger.info(fields ?? {}, message);
}
