export { EXAMPLE_NAMES, CSV_EXAMPLES, isExampleName, isCsvExample, parseExampleName, exampleDataPath, exampleTaskPath } from './example-names';
export type { ExampleName, CsvExampleName } from './example-names';
export {
	EXAMPLE_TASKS,
	BREAST_CANCER_FEATURES,
	BREAST_CANCER_TARGET,
	BREAST_CANCER_CLASSES,
	WINE_FEATURES,
	WINE_TARGET,
	WINE_CLASSES,
	DIABETES_FEATURES,
	DIABETES_TARGET,
	CO2_TIME_COLUMN,
	CO2_VALUE_COLUMN,
	FASHION_FOLDER_CLASSES
} from './example-tasks';
export { ensureExample, buildExamples, EXAMPLES_DIR, EXAMPLES_CACHE_DIR, DEFAULT_IMAGES_PER_CLASS } from './build-examples';
export type { BuiltExample, ExampleBuildOptions, ExampleBuildResult } from './build-examples';
export { ExampleSourceUnavailable } from './debian-packages';
export { splitExample, listParticipantData, participantEntryName, SPLIT_MANIFEST, SPLIT_TASK } from './split-example';
export type { SplitManifest, SplitPart, ParticipantData } from './split-example';
export { csvLine, csvText, parseCsvLine } from './csv-text';
