/** The example data sets `npm run examples` builds from packaged (offline) sources. */
export const EXAMPLE_NAMES = ['breast-cancer', 'wine', 'diabetes', 'co2', 'fashion-mnist-images'] as const;
export type ExampleName = (typeof EXAMPLE_NAMES)[number];

export const CSV_EXAMPLES = ['breast-cancer', 'wine', 'diabetes', 'co2'] as const satisfies readonly ExampleName[];
export type CsvExampleName = (typeof CSV_EXAMPLES)[number];

export function isExampleName(name: string): name is ExampleName {
	return (EXAMPLE_NAMES as readonly string[]).includes(name);
}

export function isCsvExample(name: ExampleName): name is CsvExampleName {
	return (CSV_EXAMPLES as readonly string[]).includes(name);
}

/** Where an example lives inside the examples folder: a CSV file or an image folder. */
export function exampleDataPath(name: ExampleName): string {
	return isCsvExample(name) ? `${name}.csv` : name;
}

export function exampleTaskPath(name: ExampleName): string {
	return `${name}.task.json`;
}

/** Parses a user-supplied example name, with a message listing the choices. */
export function parseExampleName(text: string): ExampleName {
	if (!isExampleName(text)) throw new Error(`unknown example "${text}"; choose one of ${EXAMPLE_NAMES.join(', ')}`);
	return text;
}
