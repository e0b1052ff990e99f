import {
	JOIN_TOKEN_PARAM,
	type CreatedJoinToken,
	type Device,
	type ModelRecord,
	type PredictRequest,
	type PredictResponse,
	type Project,
	type Round
} from '@qflare/protocol';

/** Who the client acts as: an API key of one organisation (projects are created in it). */
export interface ApiCredentials {
	apiKey: string;
	organisationId: string;
}

/** POST /projects/:id/join-tokens options; omitted ones take the server's defaults (no expiry, no device limit). */
export interface JoinTokenOptions {
	label?: string;
	expiresInHours?: number | null;
	maxDevices?: number | null;
}

/** The REST API as a test sees it; every call but request() checks the status code. */
export class ApiClient {
	constructor(
		readonly baseUrl: string,
		readonly credentials: ApiCredentials
	) {}

	/** One authenticated call, its status left to the caller (access checks expect 4xx). */
	request(method: string, path: string, body?: unknown): Promise<Response> {
		return fetch(`${this.baseUrl}/api/v1${path}`, {
			method,
			headers: {
				authorization: `Bearer ${this.credentials.apiKey}`,
				...(body === undefined ? {} : { 'content-type': 'application/json' })
			},
			body: body === undefined ? undefined : JSON.stringify(body)
		});
	}

	async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await this.request(method, path, body);
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
		return JSON.parse(text) as T;
	}

	/** Creates a project in the key's organisation. */
	createProject(config: Record<string, unknown>): Promise<Project> {
		return this.#json('POST', `/orgs/${this.credentials.organisationId}/projects`, config);
	}
	project(id: string): Promise<Project> {
		return this.#json('GET', `/projects/${id}`);
	}
	start(id: string): Promise<Project> {
		return this.#json('POST', `/projects/${id}/start`);
	}
	devices(id: string): Promise<Device[]> {
		return this.#json('GET', `/projects/${id}/devices`);
	}
	rounds(id: string): Promise<Round[]> {
		return this.#json('GET', `/projects/${id}/rounds`);
	}
	models(id: string): Promise<ModelRecord[]> {
		return this.#json('GET', `/projects/${id}/models`);
	}
	/** POST /projects/:id/models/:version/predict; version "latest" or a number. */
	predict(id: string, version: 'latest' | number, body: PredictRequest): Promise<PredictResponse> {
		return this.#json('POST', `/projects/${id}/models/${version}/predict`, body);
	}
	/** A new join token of the project (shown once by the server): new devices register only with one. */
	async joinToken(projectId: string, options: JoinTokenOptions = {}): Promise<string> {
		return (await this.#json<CreatedJoinToken>('POST', `/projects/${projectId}/join-tokens`, options)).token;
	}
	/** The participant page's join link with a token, on this client's origin. */
	joinUrl(projectId: string, token: string): string {
		return `${this.baseUrl}/join/${projectId}?${JOIN_TOKEN_PARAM}=${encodeURIComponent(token)}`;
	}
	revokeDevice(projectId: string, deviceId: string): Promise<Device> {
		return this.#json('POST', `/projects/${projectId}/devices/${deviceId}/revoke`);
	}

	/** Polls until `done` holds for the project's rounds, or fails with what it last saw. */
	async waitForRounds(id: string, done: (rounds: Round[]) => boolean, timeoutMs: number): Promise<Round[]> {
		const deadline = Date.now() + timeoutMs;
		let rounds: Round[] = [];
		while (Date.now() < deadline) {
			rounds = await this.rounds(id);
			if (done(rounds)) return rounds;
			await new Promise((r) => setTimeout(r, 500));
		}
		throw new Error(`timed out; rounds: ${JSON.stringify(rounds.map((r) => [r.number, r.status, r.accepted.length, r.failureReason]))}`);
	}
}

export const committed = (rounds: Round[]) => rounds.filter((r) => r.status === 'committed');
