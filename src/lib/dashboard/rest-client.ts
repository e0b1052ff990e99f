import {
	API_PREFIX,
	type CreateProjectBody,
	type Device,
	type ErrorReply,
	type ModelRecord,
	type Project,
	type Round,
	type ServerInfo
} from '@qflare/protocol';

/** An HTTP error with the server's error code when it sent one. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string | null,
		message: string
	) {
		super(message);
		this.name = 'ApiError';
	}
}

function isErrorReply(body: unknown): body is ErrorReply {
	return typeof body === 'object' && body !== null && (body as { ok?: unknown }).ok === false;
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
	let response: Response;
	try {
		response = await fetch(`${API_PREFIX}${path}`, {
			...init,
			headers: { accept: 'application/json', ...(init?.body ? { 'content-type': 'application/json' } : {}) }
		});
	} catch (error) {
		throw new ApiError(0, null, `server unreachable: ${error instanceof Error ? error.message : String(error)}`);
	}
	const text = await response.text();
	let body: unknown = null;
	try {
		body = text ? JSON.parse(text) : null;
	} catch {
		// Not JSON (e.g. a proxy's error page): report the status below.
	}
	if (!response.ok || isErrorReply(body)) {
		if (isErrorReply(body)) throw new ApiError(response.status, body.code, body.message);
		throw new ApiError(response.status, null, `HTTP ${response.status} ${response.statusText}`.trim());
	}
	return body as T;
}

const project = (id: string) => `/projects/${encodeURIComponent(id)}`;

export const api = {
	serverInfo: () => call<ServerInfo>('/server-info'),
	listProjects: () => call<Project[]>('/projects'),
	createProject: (body: CreateProjectBody) => call<Project>('/projects', { method: 'POST', body: JSON.stringify(body) }),
	getProject: (id: string) => call<Project>(project(id)),
	listDevices: (id: string) => call<Device[]>(`${project(id)}/devices`),
	listRounds: (id: string) => call<Round[]>(`${project(id)}/rounds`),
	listModels: (id: string) => call<ModelRecord[]>(`${project(id)}/models`),
	start: (id: string) => call<Project>(`${project(id)}/start`, { method: 'POST' }),
	stop: (id: string) => call<Project>(`${project(id)}/stop`, { method: 'POST' })
};

/** Where a model version ("latest" or a number) can be downloaded (tfjs layers format). */
export function modelUrls(id: string, version: number | 'latest'): { modelJson: string; weightsBin: string } {
	const base = `${API_PREFIX}${project(id)}/models/${version}`;
	return { modelJson: `${base}/model.json`, weightsBin: `${base}/weights.bin` };
}

/** Where the latest global model can be downloaded (tfjs layers format). */
export function latestModelUrls(id: string): { modelJson: string; weightsBin: string } {
	return modelUrls(id, 'latest');
}
