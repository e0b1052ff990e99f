// Browser- and Node-safe: nothing here imports tfjs at run time; callers pass their tf namespace.
export type { Tf, LayersModel } from './tf';
export {
	type Activation,
	type LayerSpec,
	type ModelSpec,
	type ModelName,
	type ModelObjective,
	MODEL_SPECS,
	modelSpec,
	parameterCount,
	parameterSegments,
	layerShapes,
	inputSize,
	outputSize
} from './spec';
export { buildModel } from './model';
export { flattenWeights, setFlatWeights, weightSizes } from './weights';
export { type LabelledData, type ModelInputs, shuffledIndices } from './data';
export { syntheticDigits } from './synthetic';
export {
	type TrainHyperparams,
	type TrainProgress,
	type TrainOptions,
	type TrainResult,
	type EvalResult,
	type HoldOutEvaluation,
	trainLocal,
	evaluate,
	evaluateHoldOut,
	predict,
	crossEntropy
} from './train';
export { LocalTrainer, holdOut, type ClientHyperparams, type ClientUpdate } from './local-trainer';
export {
	type BackendName,
	type BackendChoice,
	type ChooseBackendOptions,
	type GpuLike,
	type AdapterKind,
	chooseBackend,
	probeWebGpuAdapter,
	requiredKernels,
	missingKernels,
	initBackend
} from './backend';
