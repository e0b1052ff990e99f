import type { ModelName, ModelRecord, Project, Round, RoundClosed, RoundTask, DatasetName } from '@qflare/protocol';

/** How the coordinator reaches participants; implemented over Socket.IO in sockets/. */
export interface ParticipantChannel {
	/** Devices of the project that are logged in and have reported their backend and data. */
	readyDevices(projectId: string): string[];
	/** Logged in on at least one socket (it may still be loading its data or calibrating). */
	isOnline(projectId: string, deviceId: string): boolean;
	sendTask(projectId: string, deviceId: string, task: RoundTask): void;
	announceRoundClosed(projectId: string, closed: RoundClosed): void;
	announceProject(project: Project): void;
}

/** Live updates for dashboards watching a project. */
export interface DashboardFeed {
	project(p: Project): void;
	round(r: Round): void;
	model(m: ModelRecord): void;
}

/** Model-side work the coordinator needs: initial weights and held-out evaluation. */
export interface ModelService {
	parameterCount(model: ModelName): number;
	initialWeights(model: ModelName, seed: number): Promise<Float32Array>;
	evaluate(model: ModelName, dataset: DatasetName, weights: Float32Array): Promise<{ loss: number; accuracy: number }>;
}
