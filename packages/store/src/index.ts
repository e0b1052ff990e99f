export { openStore, type OpenStoreOptions, type Store } from './open-store';
export type { BackendKind } from './backend';
export type { BlobStore } from './blobs';
export { DuplicateKeyError, IntegrityError } from './errors';
export type { Clock } from './docs';
export type {
	CollectionPort,
	Condition,
	Filter,
	FindOneAndUpdateOptions,
	FindOptions,
	IndexKeys,
	IndexOptions,
	Operators,
	Projection,
	SortSpec,
	StoredDoc,
	Update,
	UpdateOptions,
	UpdateResult
} from './port';
export type { ProjectPatch, ProjectRepository } from './repos/projects';
export type { DevicePatch, DeviceRepository, DeviceUpsert } from './repos/devices';
export { ROUND_ACCEPTING, type NewRound, type RoundPatch, type RoundRepository } from './repos/rounds';
export type { NewUpdate, UpdateRepository } from './repos/updates';
export type { ModelRepository, NewModel } from './repos/models';
export type { EventRepository, NewEvent } from './repos/events';
export type { EvaluationRecord, EvaluationRepository, NewEvaluation } from './repos/evaluations';
