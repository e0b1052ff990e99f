export { startNodeParticipant, type NodeParticipant, type NodeParticipantOptions } from './participant';
export { parseCliArgs, UsageError, USAGE, type CliOptions, type ParsedArgs } from './args';
export { FileIdentityStore, IDENTITY_FILE } from './identity-file';
export { describePrepared, FilePreparedDataStore, LocalDataError, prepareLocalFiles, type LocalFiles } from './local-import';
export { progressPrinter, type ProgressPrinterOptions } from './progress-printer';
export type { ParticipantState } from '@qflare/participant';
