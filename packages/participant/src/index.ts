// The environment-agnostic participant: protocol logic plus the ports a host (browser tab,
// headless Node process, test) implements. Nothing here touches the DOM, IndexedDB or node:*;
// the socket.io-client transport runs unchanged in browsers and Node.
export {
	ParticipantSession,
	shardCacheKey,
	type ConnectionState,
	type CurrentRound,
	type LocalTrainingSummary,
	type LogEntry,
	type ParticipantSessionOptions,
	type ParticipantState,
	type RoundResult,
	type SessionPhase,
	type StateListener,
	type UploadState
} from './session';
export type {
	AckEvent,
	Calibration,
	ConnectionHandlers,
	IdentityStore,
	LocalHyperparams,
	LocalProgress,
	LocalTrainResult,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
	SessionTrainer,
	ShardCache
} from './ports';
export { ProgressThrottle, isFinalBatch, progressFraction } from './training-progress';
export { SocketIoParticipantSocket, type SocketIoParticipantOptions } from './socket-transport';
