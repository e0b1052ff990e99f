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
export type { NewUpdate, UpdatePayload, UpdateRepository, UpdateWithPayload } from './repos/updates';
export type { ModelRepository, NewModel } from './repos/models';
export type { EventRepository, NewEvent } from './repos/events';
export type { EvaluationRecord, EvaluationRepository, NewEvaluation } from './repos/evaluations';
export type { NewUser, UserRepository } from './repos/users';
export type { OrganisationRepository } from './repos/organisations';
export type { MembershipRepository } from './repos/memberships';
export type { NewSession, SessionRecord, SessionRepository } from './repos/sessions';
export type { ApiKeyRepository, NewApiKey } from './repos/api-keys';
export type { InvitationRepository, NewInvitation } from './repos/invitations';
export type { JoinTokenRepository, NewJoinToken } from './repos/join-tokens';
export type { AuditRepository, NewAuditEntry } from './repos/audit';
