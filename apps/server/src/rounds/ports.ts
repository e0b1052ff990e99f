import type {
	DatasetName,
	ParticipantServerEvents,
	EvaluationTask,
	ModelName,
	ModelRecord,
	Project,
	Round,
	RoundClosed,
	RoundTask,
	TaskSchema
} from '@qflare/protocol';

export type SecureEvent = 'secagg:neighbours' | 'secagg:relay' | 'secagg:unmask';

/** How the coordinator reaches participants; implemented over Socket.IO in sockets/. */
export interface ParticipantChannel {
	/** Devices of the project that are logged in and have reported their backend and data, on any instance. */
	readyDevices(projectId: string): Promise<string[]>;
	/** Logged in on at least one socket of any instance (it may still be loading its data or calibrating). */
	isOnline(projectId: string, deviceId: string): Promise<boolean>;
	/** The project's devices logged in on any instance. */
	onlineDevices(projectId: string): Promise<string[]>;
	/** `local`: only to this instance's sockets of the device (each instance sends its own devices' tasks). */
	sendTask(projectId: string, deviceId: string, task: RoundTask, options?: { local?: boolean }): void;
	/** Asks a device to score a committed model on its local hold-out (it answers with eval:report). */
	sendEvaluation(projectId: string, deviceId: string, task: EvaluationTask): void;
	/** Secure aggregation's messages to one device (its keys, relays and the unmasking request). */
	sendSecure<E extends SecureEvent>(projectId: string, deviceId: string, event: E, message: Parameters<ParticipantServerEvents[E]>[0]): void;
	announceRoundClosed(projectId: string, closed: RoundClosed): void;
	announceProject(project: Project): void;
}

/** Live updates for dashboards watching a project. */
export interface DashboardFeed {
	project(p: Project): void;
	round(r: Round): void;
	model(m: ModelRecord): void;
}

/** Model-side work the server needs: initial weights, the demo test set's evaluation, predictions. */
export interface ModelService {
	/** Throws a clear Error when the model does not fit the task. */
	parameterCount(model: ModelName, task: TaskSchema): number;
	initialWeights(model: ModelName, task: TaskSchema, seed: number): Promise<Float32Array>;
	/** Scores weights on a demo data set's held-out test split (demo projects only). */
	evaluate(model: ModelName, dataset: DatasetName, weights: Float32Array): Promise<{ loss: number; accuracy: number }>;
	/**
	 * count x outputs: class probabilities, or standardised regression values. `inputs` are
	 * count encoded samples (Uint8Array pixels, or Float32Array already standardised values).
	 */
	predict(model: ModelName, task: TaskSchema, weights: Float32Array, inputs: Uint8Array | Float32Array, count: number): Promise<Float32Array>;
	/**
	 * Cross-entropy of the weights on each of the demo data set's examples at `indices` of a split
	 * (train or test), in that order: what a loss-threshold membership-inference attack looks at.
	 */
	perExampleLoss(model: ModelName, dataset: DatasetName, weights: Float32Array, split: 'train' | 'test', indices: ArrayLike<number>): Promise<Float64Array>;
}
