import { parseCliArgs, USAGE, UsageError } from './args';
import { needsDataMessage } from './local-import';
import { startNodeParticipant } from './participant';

const write = (line: string) => process.stdout.write(`${line}\n`);
const fatal = (message: string, code: number): never => {
	process.stderr.write(`qflare-participant: ${message}\n`);
	process.exit(code);
};

let parsed;
try {
	parsed = parseCliArgs(process.argv.slice(2));
} catch (error) {
	if (error instanceof UsageError) fatal(`${error.message}\n\n${USAGE}`, 2);
	throw error;
}
if (parsed.help) {
	write(USAGE);
	process.exit(0);
}
const { options } = parsed;

let participant;
try {
	participant = await startNodeParticipant({ ...options, log: write });
} catch (error) {
	fatal(error instanceof Error ? error.message : String(error), 1);
}
write(`device ${participant!.deviceId} joining project ${options.project} at ${options.server} (data in ${options.dataDir})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		write(`${signal}: closing`);
		participant!.stop();
	});
}

const final = await participant!.finished;
if (final.phase === 'needs-data') fatal(needsDataMessage(final), 1);
if (final.phase === 'failed') fatal(final.error ?? 'failed', 1);
process.exit(0);
