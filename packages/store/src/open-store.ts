import type { Backend, BackendKind } from './backend';
import { ensureIndexes, openCollections } from './collections';
import { systemClock, type Clock } from './docs';
import { openEmbeddedBackend } from './embedded/embedded-backend';
import { openMongoBackend } from './mongo/mongo-backend';
import { apiKeyRepository, type ApiKeyRepository } from './repos/api-keys';
import { auditRepository, type AuditRepository } from './repos/audit';
import { deviceRepository, type DeviceRepository } from './repos/devices';
import { evaluationRepository, type EvaluationRepository } from './repos/evaluations';
import { eventRepository, type EventRepository } from './repos/events';
import { invitationRepository, type InvitationRepository } from './repos/invitations';
import { joinTokenRepository, type JoinTokenRepository } from './repos/join-tokens';
import { membershipRepository, type MembershipRepository } from './repos/memberships';
import { modelRepository, type ModelRepository } from './repos/models';
import { projectRepository, type ProjectRepository } from './repos/projects';
import { organisationRepository, type OrganisationRepository } from './repos/organisations';
import { roundRepository, type RoundRepository } from './repos/rounds';
import { sessionRepository, type SessionRepository } from './repos/sessions';
import { updateRepository, type UpdateRepository } from './repos/updates';
import { userRepository, type UserRepository } from './repos/users';

export interface Store {
	readonly backend: BackendKind;
	readonly projects: ProjectRepository;
	readonly devices: DeviceRepository;
	readonly rounds: RoundRepository;
	readonly updates: UpdateRepository;
	readonly models: ModelRepository;
	readonly events: EventRepository;
	readonly evaluations: EvaluationRepository;
	readonly users: UserRepository;
	readonly organisations: OrganisationRepository;
	readonly memberships: MembershipRepository;
	readonly sessions: SessionRepository;
	readonly apiKeys: ApiKeyRepository;
	readonly invitations: InvitationRepository;
	readonly joinTokens: JoinTokenRepository;
	/** Append-only: it offers append and list, nothing else. */
	readonly audit: AuditRepository;
	close(): Promise<void>;
}

export interface OpenStoreOptions {
	/** When set (and not empty) the store uses MongoDB; otherwise nedb files under dataDir. */
	mongodbUri?: string;
	/** Folder of the embedded backend (DATA_DIR, default ./data in the server). */
	dataDir: string;
	/** MongoDB database; defaults to the one in the URI, else 'qflare'. */
	dbName?: string;
	/** For tests that need fixed timestamps. */
	clock?: Clock;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
	const backend: Backend = options.mongodbUri
		? await openMongoBackend(options.mongodbUri, options.dbName)
		: await openEmbeddedBackend(options.dataDir);
	try {
		const c = await openCollections(backend);
		await ensureIndexes(c);
		const clock = options.clock ?? systemClock;
		return {
			backend: backend.kind,
			projects: projectRepository(c.projects, clock),
			devices: deviceRepository(c.devices, clock),
			rounds: roundRepository(c.rounds, clock),
			updates: updateRepository(c.updates, backend.blobs),
			models: modelRepository(c.models, backend.blobs, clock),
			events: eventRepository(c.events, clock),
			evaluations: evaluationRepository(c.evaluations, clock),
			users: userRepository(c.users, clock),
			organisations: organisationRepository(c.organisations, clock),
			memberships: membershipRepository(c.memberships, clock),
			sessions: sessionRepository(c.sessions, clock),
			apiKeys: apiKeyRepository(c.apiKeys, clock),
			invitations: invitationRepository(c.invitations, clock),
			joinTokens: joinTokenRepository(c.joinTokens, clock),
			audit: auditRepository(c.audit, clock),
			close: () => backend.close()
		};
	} catch (err) {
		await backend.close().catch(() => undefined);
		throw err;
	}
}
