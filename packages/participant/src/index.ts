// The environment-agnostic participant: protocol logic plus the ports a host (browser tab,
// headless Node process, test) implements. Nothing here touches the DOM, IndexedDB or node:*;
// the socket.io-client transport runs unchanged in browsers and Node.
export {
	ParticipantSession,
	describeEvaluation,
	type ConnectionState,
	type CurrentRound,
	type GlobalModelCopy,
	type LocalEvaluation,
	type LocalTrainingSummary,
	type LogEntry,
	type ParticipantSessionOptions,
	type ParticipantState,
	type Refusal,
	type RoundResult,
	type SessionPhase,
	type StateListener,
	type UploadState
} from './session';
export type {
	AckEvent,
	Calibration,
	ConnectionHandlers,
	DataProvider,
	DeviceDataset,
	DeviceIdentity,
	HoldOutScore,
	IdentityStore,
	LocalHyperparams,
	LocalProgress,
	LocalTrainResult,
	ParticipantSocket,
	ReplyOf,
	RequestOf,
	RotatedKey,
	SessionTrainer,
	ShardCache
} from './ports';
export { DemoDataProvider, shardCacheKey, splitShard } from './demo-data';
export { LocalDataProvider, ProjectDataProvider, type PreparedDataStore } from './local-data';
export { ProjectDataFacts, fetchProjectFacts } from './project-facts';
export { sameJson } from './dataset-check';
export { ProgressThrottle, isFinalBatch, progressFraction } from './training-progress';
export { SocketIoParticipantSocket, type SocketIoParticipantOptions } from './socket-transport';
export { SecureRoundClient, type SecurePhase, type SecureRoundClientOptions, type SecureRoundStatus } from './secure-aggregation';
export { UpdateCompressor } from './update-compression';
