export { startNodeParticipant, type NodeParticipant, type NodeParticipantOptions } from './participant';
export { parseCliArgs, UsageError, USAGE, type CliOptions, type ParsedArgs } from './args';
export { FileIdentityStore, IDENTITY_FILE } from './identity-file';
export { progressPrinter, type ProgressPrinterOptions } from './progress-printer';
export type { ParticipantState } from '@qflare/participant';
