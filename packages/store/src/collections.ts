import type {
	ApiKeyRecord,
	AuditEntry,
	Device,
	EvaluationReport,
	EventRecord,
	Invitation,
	JoinTokenRecord,
	Membership,
	ModelRecord,
	Organisation,
	Project,
	Round,
	UpdateRecord,
	User
} from '@qflare/protocol';
import type { Backend } from './backend';
import type { StoredFeatureStats, StoredStandardization } from './column-records';
import type { Stored } from './docs';
import type { CollectionPort, StoredDoc } from './port';

/**
 * Fields added after documents were first written are optional here: a document from an
 * older version lacks them, and the repositories fill in their defaults when reading.
 */
type LaterProjectFields = 'dataSource' | 'task' | 'holdOutFraction' | 'organisationId' | 'updateEncoding' | 'secureAggregation';
export type ProjectDoc = Omit<Stored<Project>, 'standardization' | LaterProjectFields> &
	Partial<Pick<Project, LaterProjectFields>> & { standardization?: StoredStandardization | null };
/**
 * A device id is unique only within its project, so `_id` is `${projectId}:${deviceId}`.
 * `accessTokenHash` (sha256 of the shard access token) stays on the document and never
 * reaches the Device type.
 */
export type DeviceDoc = Omit<Device, 'id' | 'featureStats' | 'lastEvaluation' | 'keyCreatedAt' | 'revokedAt' | 'joinTokenId'> & {
	_id: string;
	deviceId: string;
	featureStats?: StoredFeatureStats | null;
	lastEvaluation?: Device['lastEvaluation'];
	keyCreatedAt?: string;
	revokedAt?: string | null;
	joinTokenId?: string | null;
	accessTokenHash?: string | null;
};
/**
 * `fence` is the fencing token of the leader instance that last moved the round (0 on a single
 * instance); it never leaves the store. Rounds stored before fencing existed lack it.
 */
export type RoundDoc = Omit<Stored<Round>, 'federatedEvaluation'> & Partial<Pick<Round, 'federatedEvaluation'>> & { fence?: number };
/**
 * `blob` names the update's payload in the BlobStore while its round runs (null once the round
 * ended); `foldIndex`, `steps` and `valAccuracy` are what folding it again after a restart needs.
 * None of them leaves the store. Records written before payloads were kept lack them.
 */
export type UpdateDoc = Stored<UpdateRecord> & { blob?: string | null; foldIndex?: number; steps?: number; valAccuracy?: number | null };
/** `blob` names the weights in the BlobStore; it never leaves the store. */
export type ModelDoc = Omit<Stored<ModelRecord>, 'federatedEvaluation' | 'membershipAudit'> &
	Partial<Pick<ModelRecord, 'federatedEvaluation' | 'membershipAudit'>> & { blob: string; stateBlob?: string };
/** `seq` orders events written within the same millisecond. */
export type EventDoc = Stored<EventRecord> & { seq: number };

/** One device's score of a committed model; `_id` is `${roundId}:${deviceId}`, so a re-sent report replaces the first. */
export interface EvaluationDoc {
	_id: string;
	projectId: string;
	roundId: string;
	roundNumber: number;
	deviceId: string;
	modelVersion: number;
	n: number;
	loss: number;
	/** Explicit nulls: the port's filters cannot tell a missing field from null on every backend. */
	classification: NonNullable<EvaluationReport['classification']> | null;
	regression: NonNullable<EvaluationReport['regression']> | null;
	receivedAt: string;
}

/** Secrets are kept only as hashes the callers compute; the repositories return them only where asked by name. */
export type UserDoc = Stored<User> & { passwordHash: string };
export type OrganisationDoc = Stored<Organisation>;
/** One membership per (organisation, user): `_id` is `${organisationId}:${userId}`. */
export type MembershipDoc = Membership & StoredDoc;
export interface SessionDoc {
	_id: string;
	userId: string;
	tokenHash: string;
	createdAt: string;
	expiresAt: string;
	lastSeenAt: string;
	address: string;
	userAgent: string;
}
export type ApiKeyDoc = Stored<ApiKeyRecord> & { secretHash: string };
/** `expiresAtMs` lets the accept guard compare numbers rather than date strings of unknown format. */
export type InvitationDoc = Stored<Invitation> & { tokenHash: string; expiresAtMs: number };
/**
 * The port cannot compare two fields or say "null or greater than", so a claim's guard uses
 * sentinels: `slotsLeft` counts down from maxDevices (MAX_SAFE_INTEGER when unlimited) and
 * `expiresAtMs` is MAX_SAFE_INTEGER when the token never expires.
 */
export type JoinTokenDoc = Stored<JoinTokenRecord> & { tokenHash: string; slotsLeft: number; expiresAtMs: number };
/** Details are named entries: a caller's key may hold characters neither backend takes in field names. */
export type AuditDoc = Omit<Stored<AuditEntry>, 'details'> & {
	details: Array<{ name: string; value: AuditEntry['details'][string] }>;
	seq: number;
};

export interface Collections {
	projects: CollectionPort<ProjectDoc>;
	devices: CollectionPort<DeviceDoc>;
	rounds: CollectionPort<RoundDoc>;
	updates: CollectionPort<UpdateDoc>;
	models: CollectionPort<ModelDoc>;
	events: CollectionPort<EventDoc>;
	evaluations: CollectionPort<EvaluationDoc>;
	users: CollectionPort<UserDoc>;
	organisations: CollectionPort<OrganisationDoc>;
	memberships: CollectionPort<MembershipDoc>;
	sessions: CollectionPort<SessionDoc>;
	apiKeys: CollectionPort<ApiKeyDoc>;
	invitations: CollectionPort<InvitationDoc>;
	joinTokens: CollectionPort<JoinTokenDoc>;
	audit: CollectionPort<AuditDoc>;
}

export async function openCollections(backend: Backend): Promise<Collections> {
	return {
		projects: await backend.collection<ProjectDoc>('projects'),
		devices: await backend.collection<DeviceDoc>('devices'),
		rounds: await backend.collection<RoundDoc>('rounds'),
		updates: await backend.collection<UpdateDoc>('updates'),
		models: await backend.collection<ModelDoc>('models'),
		events: await backend.collection<EventDoc>('events'),
		evaluations: await backend.collection<EvaluationDoc>('evaluations'),
		users: await backend.collection<UserDoc>('users'),
		organisations: await backend.collection<OrganisationDoc>('organisations'),
		memberships: await backend.collection<MembershipDoc>('memberships'),
		sessions: await backend.collection<SessionDoc>('sessions'),
		apiKeys: await backend.collection<ApiKeyDoc>('api_keys'),
		invitations: await backend.collection<InvitationDoc>('invitations'),
		joinTokens: await backend.collection<JoinTokenDoc>('join_tokens'),
		audit: await backend.collection<AuditDoc>('audit')
	};
}

/** Idempotent; run at every start-up. The unique ones are what the repositories rely on. */
export async function ensureIndexes(c: Collections): Promise<void> {
	await c.projects.createIndex({ createdAt: -1 });
	await c.devices.createIndex({ projectId: 1, deviceId: 1 }, { unique: true, name: 'device_per_project' });
	await c.devices.createIndex({ projectId: 1, online: 1 });
	await c.rounds.createIndex({ projectId: 1, number: 1 }, { unique: true, name: 'round_number_per_project' });
	await c.updates.createIndex({ roundId: 1, deviceId: 1 }, { unique: true, name: 'update_per_device_per_round' });
	await c.updates.createIndex({ projectId: 1, payloadSha256: 1 });
	await c.models.createIndex({ projectId: 1, version: 1 }, { unique: true, name: 'model_version_per_project' });
	await c.events.createIndex({ projectId: 1, seq: -1 });
	await c.evaluations.createIndex({ roundId: 1, deviceId: 1 }, { unique: true, name: 'evaluation_per_device_per_round' });
	await c.evaluations.createIndex({ projectId: 1, roundNumber: 1 });
	await c.projects.createIndex({ organisationId: 1 });
	await c.users.createIndex({ email: 1 }, { unique: true, name: 'user_email' });
	await c.memberships.createIndex({ organisationId: 1, userId: 1 }, { unique: true, name: 'membership_per_user_per_org' });
	await c.memberships.createIndex({ userId: 1 });
	await c.sessions.createIndex({ tokenHash: 1 }, { unique: true, name: 'session_token' });
	await c.sessions.createIndex({ userId: 1 });
	await c.apiKeys.createIndex({ organisationId: 1, createdAt: -1 });
	await c.invitations.createIndex({ tokenHash: 1 }, { unique: true, name: 'invitation_token' });
	await c.invitations.createIndex({ organisationId: 1, createdAt: -1 });
	await c.joinTokens.createIndex({ tokenHash: 1 }, { unique: true, name: 'join_token' });
	await c.joinTokens.createIndex({ projectId: 1, createdAt: -1 });
	await c.audit.createIndex({ organisationId: 1, seq: -1 });
}
