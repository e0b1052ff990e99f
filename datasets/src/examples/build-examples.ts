import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { TaskSchema } from '@qflare/protocol';
import { FASHION_MNIST_DIR } from '../fashion-mnist';
import {
	extractedPackage,
	SKLEARN_DATA_DIR,
	SKLEARN_PACKAGE,
	STATSMODELS_DATASETS_DIR,
	STATSMODELS_PACKAGE
} from './debian-packages';
import { EXAMPLE_NAMES, exampleDataPath, exampleTaskPath, isCsvExample, type CsvExampleName, type ExampleName } from './example-names';
import { EXAMPLE_TASKS } from './example-tasks';
import { writeFashionImageFolder } from './fashion-images';
import { breastCancerCsv, co2Csv, diabetesCsv, wineCsv } from './source-tables';

/** datasets/examples: the built CSVs, image folder and task schemas (gitignored). */
export const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../examples');
/** datasets/.cache: downloaded .debs and their extracted files (gitignored). */
export const EXAMPLES_CACHE_DIR = path.resolve(import.meta.dirname, '../../.cache');
export const DEFAULT_IMAGES_PER_CLASS = 100;

/** Bump when a builder's output changes, so cached examples are rebuilt. */
const BUILDER_VERSION = 1;

export interface ExampleBuildOptions {
	outDir?: string;
	cacheDir?: string;
	imagesPerClass?: number;
	fashionMnistDir?: string;
}

export interface BuiltExample {
	name: ExampleName;
	/** Absolute path of the CSV file or the image folder. */
	dataPath: string;
	taskPath: string;
	task: TaskSchema;
	/** Data rows (CSV) or images (folder). */
	count: number;
	/** True when an earlier build was reused. */
	cached: boolean;
	/** What a reader of the data should know (e.g. interpolated weeks). */
	note: string | null;
}

interface Stamp {
	builder: number;
	imagesPerClass: number | null;
	count: number;
	note: string | null;
}

const gunzipAsync = promisify(gunzip);

async function exists(file: string): Promise<boolean> {
	return stat(file).then(
		() => true,
		() => false
	);
}

/** Writes beside the target and renames, so readers see the old file or the whole new one. */
async function writeAtomically(file: string, content: string): Promise<void> {
	const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
	await writeFile(temp, content);
	await rename(temp, file);
}

async function readSource(root: string, relative: string): Promise<Buffer> {
	const file = path.join(root, relative);
	try {
		return await readFile(file);
	} catch {
		throw new Error(`${file} is missing from the extracted package; was the package layout changed?`);
	}
}

async function csvFor(name: CsvExampleName, cacheDir: string): Promise<{ csv: string; count: number; note: string | null }> {
	const counted = (csv: string) => ({ csv, count: csv.split('\n').length - 2, note: null });
	if (name === 'co2') {
		const root = await extractedPackage(STATSMODELS_PACKAGE, cacheDir);
		const table = co2Csv((await readSource(root, `${STATSMODELS_DATASETS_DIR}/co2/co2.csv`)).toString('utf8'));
		return {
			csv: table.csv,
			count: table.rows,
			note: `${table.interpolated} of ${table.rows} weeks had no reading and were interpolated linearly between their neighbours`
		};
	}
	const root = await extractedPackage(SKLEARN_PACKAGE, cacheDir);
	const text = async (file: string) => (await readSource(root, `${SKLEARN_DATA_DIR}/${file}`)).toString('utf8');
	const gz = async (file: string) => (await gunzipAsync(await readSource(root, `${SKLEARN_DATA_DIR}/${file}`))).toString('utf8');
	switch (name) {
		case 'breast-cancer':
			return counted(breastCancerCsv(await text('breast_cancer.csv')));
		case 'wine':
			return counted(wineCsv(await text('wine_data.csv')));
		case 'diabetes':
			return counted(diabetesCsv(await gz('diabetes_data_raw.csv.gz'), await gz('diabetes_target.csv.gz')));
	}
}

/**
 * One example in `outDir` (default datasets/examples): its CSV or image folder and its task
 * schema JSON. Reused when an earlier build with the same builder version and options is there.
 * CSV examples need Debian's python3-sklearn / python3-statsmodels .debs (fetched with
 * `apt-get download` into cacheDir); a failure to get them is an ExampleSourceUnavailable.
 */
export async function ensureExample(name: ExampleName, options: ExampleBuildOptions = {}): Promise<BuiltExample> {
	const outDir = path.resolve(options.outDir ?? EXAMPLES_DIR);
	const cacheDir = path.resolve(options.cacheDir ?? EXAMPLES_CACHE_DIR);
	const imagesPerClass = isCsvExample(name) ? null : (options.imagesPerClass ?? DEFAULT_IMAGES_PER_CLASS);
	const dataPath = path.join(outDir, exampleDataPath(name));
	const taskPath = path.join(outDir, exampleTaskPath(name));
	const stampPath = path.join(outDir, '.stamps', `${name}.json`);
	const task = EXAMPLE_TASKS[name];
	await mkdir(path.dirname(stampPath), { recursive: true });

	const taskJson = `${JSON.stringify(task, null, '\t')}\n`;
	if ((await readFile(taskPath, 'utf8').catch(() => null)) !== taskJson) await writeAtomically(taskPath, taskJson);

	const previous = await readFile(stampPath, 'utf8')
		.then((text) => JSON.parse(text) as Stamp)
		.catch(() => null);
	if (previous && previous.builder === BUILDER_VERSION && previous.imagesPerClass === imagesPerClass && (await exists(dataPath))) {
		return { name, dataPath, taskPath, task, count: previous.count, cached: true, note: previous.note };
	}

	let stamp: Stamp;
	if (isCsvExample(name)) {
		const { csv, count, note } = await csvFor(name, cacheDir);
		await writeAtomically(dataPath, csv);
		stamp = { builder: BUILDER_VERSION, imagesPerClass, count, note };
	} else {
		const count = await writeFashionImageFolder(dataPath, imagesPerClass ?? DEFAULT_IMAGES_PER_CLASS, options.fashionMnistDir ?? FASHION_MNIST_DIR);
		stamp = { builder: BUILDER_VERSION, imagesPerClass, count, note: `the first ${imagesPerClass} Fashion-MNIST training images of each class` };
	}
	await writeAtomically(stampPath, `${JSON.stringify(stamp)}\n`);
	return { name, dataPath, taskPath, task, count: stamp.count, cached: false, note: stamp.note };
}

export interface ExampleBuildResult {
	built: BuiltExample[];
	failed: { name: ExampleName; error: Error }[];
}

/** Builds (or reuses) each named example; one that fails does not stop the others. */
export async function buildExamples(names: readonly ExampleName[] = EXAMPLE_NAMES, options: ExampleBuildOptions = {}): Promise<ExampleBuildResult> {
	const result: ExampleBuildResult = { built: [], failed: [] };
	for (const name of names) {
		try {
			result.built.push(await ensureExample(name, options));
		} catch (e) {
			result.failed.push({ name, error: e instanceof Error ? e : new Error(String(e)) });
		}
	}
	return result;
}
