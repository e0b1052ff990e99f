import type { Device } from '@qflare/protocol';
import type { Store } from '@qflare/store';
import type { ShardService } from '../data/shard-service';
import type { Authenticator } from '../auth/principal';
import type { RateLimits } from '../auth/rate-limits';
import type { SetupLink } from '../auth/setup-link';
import type { Log } from '../logging';
import type { ModelService } from '../rounds/ports';
import type { RoundCoordinator } from '../rounds/round-coordinator';

/** What the participant socket offers the REST API: dropping a device for good. */
export interface DeviceRevocation {
	/** Sets revokedAt, tells the device, disconnects it; null when the project has no such device. */
	revokeDevice(projectId: string, deviceId: string): Promise<Device | null>;
}

/** What the dashboard socket offers the REST API: dropping the live views of credentials that ended. */
export interface DashboardDisconnects {
	disconnectSession(sessionId: string): void;
	/** Every dashboard of the user (sessions and API keys), but those of `exceptSession`. */
	disconnectUser(userId: string, options?: { exceptSession?: string | null }): void;
	disconnectApiKey(apiKeyId: string): void;
}

export interface ApiDeps {
	/** Origins phones can reach this server at (PUBLIC_URL, else its LAN addresses). */
	publicOrigins: string[];
	store: Store;
	coordinator: RoundCoordinator;
	shards: ShardService;
	models: ModelService;
	/** Parameters of the largest model whose updates the participant socket takes (its maxHttpBufferSize). */
	maxModelParameters: number;
	log: Log;
	authenticator: Authenticator;
	rateLimits: RateLimits;
	setupLink: SetupLink;
	participants: DeviceRevocation;
	dashboard: DashboardDisconnects;
}
