import type { Device, ModelRecord, PredictRequest, PredictResponse, Project, Round } from '@qflare/protocol';

/** The REST API as a test sees it; every call checks the status code. */
export class ApiClient {
	constructor(readonly baseUrl: string) {}

	async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
			method,
			headers: body === undefined ? {} : { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
		return JSON.parse(text) as T;
	}

	createProject(config: Record<string, unknown>): Promise<Project> {
		return this.#json('POST', '/projects', config);
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
