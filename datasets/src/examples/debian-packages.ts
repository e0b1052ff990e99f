import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The example sources could not be obtained (no apt, no network to the mirror, not root...). */
export class ExampleSourceUnavailable extends Error {
	override readonly name = 'ExampleSourceUnavailable';
}

/** Debian packages whose data files the CSV examples come from. */
export const SKLEARN_PACKAGE = 'python3-sklearn';
export const STATSMODELS_PACKAGE = 'python3-statsmodels';
export const SKLEARN_DATA_DIR = 'usr/lib/python3/dist-packages/sklearn/datasets/data';
export const STATSMODELS_DATASETS_DIR = 'usr/lib/python3/dist-packages/statsmodels/datasets';

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function failure(e: unknown): string {
	const err = e as { stderr?: string; message?: string; code?: string };
	if (err.code === 'ENOENT') return 'apt-get is not installed (the examples need a Debian-based system)';
	const text = (err.stderr || err.message || String(e)).trim().split('\n').filter((l) => !l.startsWith('W: ')).slice(-3).join(' ');
	return text || String(e);
}

async function exists(file: string): Promise<boolean> {
	return stat(file).then(
		() => true,
		() => false
	);
}

async function findDeb(dir: string, pkg: string): Promise<string | null> {
	const names = await readdir(dir).catch(() => [] as string[]);
	const deb = names.filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb')).sort().at(-1);
	return deb ? path.join(dir, deb) : null;
}

/** `apt-get download PKG` into a fresh folder; `apt-get update` first when apt does not know the package yet. */
async function download(pkg: string, debDir: string): Promise<string> {
	await mkdir(debDir, { recursive: true });
	// A private folder per call: two builds at once (parallel test files) must not share partial files.
	const work = await mkdtemp(path.join(debDir, '.download-'));
	// As root apt downloads without its sandbox user; saying so keeps it from warning.
	const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
	const attempt = () => run('apt-get', ['download', '-qq', ...sandbox, pkg], { cwd: work });
	try {
		try {
			await attempt();
		} catch (first) {
			if (!isRoot()) {
				throw new ExampleSourceUnavailable(
					`apt-get download ${pkg} failed (${failure(first)}); as root run \`apt-get update\` and retry, or run \`npm run examples\` as root`
				);
			}
			try {
				await run('apt-get', ['update', '-qq'], { maxBuffer: 16 * 1024 * 1024 });
				await attempt();
			} catch (second) {
				throw new ExampleSourceUnavailable(`apt-get download ${pkg} failed after apt-get update: ${failure(second)}`);
			}
		}
		const fetched = await findDeb(work, pkg);
		if (!fetched) throw new ExampleSourceUnavailable(`apt-get download ${pkg} reported success but left no .deb`);
		const target = path.join(debDir, path.basename(fetched));
		await rename(fetched, target);
		return target;
	} finally {
		await rm(work, { recursive: true, force: true });
	}
}

/**
 * The files of Debian package `pkg`, extracted with `dpkg -x` under cacheDir (no install, no
 * Python needed). Cached: the .deb and the extraction are reused once present.
 */
export async function extractedPackage(pkg: string, cacheDir: string): Promise<string> {
	const root = path.join(cacheDir, 'extracted', pkg);
	const complete = path.join(root, '.complete');
	if (await exists(complete)) return root;
	const debDir = path.join(cacheDir, 'debs');
	const deb = (await findDeb(debDir, pkg)) ?? (await download(pkg, debDir));
	await mkdir(path.dirname(root), { recursive: true });
	const work = await mkdtemp(`${root}.extract-`);
	try {
		try {
			await run('dpkg', ['-x', deb, work]);
		} catch (e) {
			throw new ExampleSourceUnavailable(`dpkg -x ${deb} failed: ${failure(e)}`);
		}
		await writeFile(path.join(work, '.complete'), `${path.basename(deb)}\n`);
		// Another build may have finished the same extraction meanwhile; theirs is as good as ours.
		if (await exists(complete)) return root;
		await rm(root, { recursive: true, force: true });
		try {
			await rename(work, root);
		} catch (e) {
			if (!(await exists(complete))) throw e;
		}
	} finally {
		await rm(work, { recursive: true, force: true });
	}
	return root;
}
