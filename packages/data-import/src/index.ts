// Prepares a participant's own files for training. Pure: callers pass text or bytes, so the
// same code runs in the page's Web Worker, the Node participant CLI and the server's predict.
export { DataImportError, MAX_LISTED_PROBLEMS, ProblemList } from './errors';
export type { PreparedSplit, PreparedData, DataSummary } from './prepared-data';
export { type SplitOptions, holdOutCount, splitIndices } from './hold-out';
export { type CsvTable, parseCsvTable } from './csv-table';
export { prepareCsv } from './prepare-csv';
export { encodeRows } from './tabular';
export { type FeatureSlot, encodedWidth, featureSlots } from './tabular-layout';
export { encodeWindows, parseIsoTime } from './time-series';
export { columnSums } from './feature-stats';
export { type ImageEntry, type ImageSourceInfo, prepareImages } from './images';
export { type LabelledImageFile, IMAGE_EXTENSIONS, isImageFileName, labelImageFiles, skippedImageFiles } from './image-files';
export { MAX_IMAGE_PIXELS, convertChannels, decodeImageFile, rgbaToChannels } from './image-decode';
export { resizePixels } from './image-resize';
export { toModelInputs, toTrainingData, targetScale, unscalableInputs } from './standardize';
export { toPredictions } from './predictions';
export { encodePrepared, decodePrepared } from './prepared-codec';
export { formatBytes, preparedByteLength, storageQuotaProblem } from './storage-quota';
