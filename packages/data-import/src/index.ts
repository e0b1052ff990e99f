// Prepares a participant's own files for training. Pure: callers pass text or bytes, so the
// same code runs in the page's Web Worker, the Node participant CLI and the server's predict.
export { DataImportError, ProblemList } from './errors';
export type { PreparedSplit, PreparedData, DataSummary } from './prepared-data';
export { type SplitOptions, holdOutCount, splitIndices } from './hold-out';
export { prepareCsv } from './prepare-csv';
export { encodeRows } from './tabular';
export { encodeWindows } from './time-series';
export { type ImageEntry, type ImageSourceInfo, prepareImages } from './images';
export { type LabelledImageFile, labelImageFiles, normalizePath, skippedImageFiles } from './image-files';
export { decodeImageFile, rgbaToChannels } from './image-decode';
export { toModelInputs, toTrainingData, targetScale, unscalableInputs } from './standardize';
export { toPredictions } from './predictions';
export { encodePrepared, decodePrepared } from './prepared-codec';
export { formatBytes, preparedByteLength, storageQuotaProblem } from './storage-quota';
