import { parseArgs } from 'node:util';

export interface CliOptions {
	server: string;
	project: string;
	dataDir: string;
	/** A local QFS1 shard file to train on instead of the server's demo shard. */
	shardFile: string | null;
	/** Local-data projects: a CSV file (tabular or time series) to import and train on. */
	csvFile: string | null;
	/** Local-data projects: a folder of images, one sub-folder per class (or labelled by labelsFile). */
	imagesDir: string | null;
	/** With imagesDir: a CSV with the columns filename and label. */
	labelsFile: string | null;
	/** Free-form label shown in the output and sent as the user agent. */
	name: string | null;
	/** The project's join token (--join-token or QFLARE_JOIN_TOKEN): a new device registers only with one. */
	joinToken: string | null;
	/** Replace the device's ML-DSA key once logged in (the device id stays). */
	rotateKey: boolean;
}

export type ParsedArgs = { help: true } | { help: false; options: CliOptions };

export const USAGE = `usage: qflare-participant --server URL --project ID --data DIR [--join-token TOKEN]
                          [--name LABEL] [--rotate-key]
                          [--csv FILE | --images DIR [--labels FILE] | --shard FILE]

  --server URL    the Qflare server, e.g. http://192.168.1.20:3000
  --project ID    the project to join (from the dashboard's join link)
  --data DIR      keeps this device's ML-DSA identity, the cached demo shard and the
                  prepared copy of imported data
  --join-token T  the project's join token (the t=qjt_... part of the join link; or set
                  QFLARE_JOIN_TOKEN): a new device registers only with one, a device
                  registered before logs in without it
  --rotate-key    replace this device's ML-DSA key once logged in; the device id stays
  --name LABEL    label for this participant in the output and on the dashboard
  --csv FILE      projects on local data (tabular or time series): import this CSV, checked
                  against the project's task schema, and train on it
  --images DIR    projects on local data (image classification): import the images in DIR,
                  one sub-folder per class (DIR/<class>/<image>), PNG or JPEG
  --labels FILE   with --images: a CSV with the columns filename,label instead of class folders
  --shard FILE    demo projects: train on this local shard file (QFS1, datasets/build-shards)
                  instead of downloading the server's demo shard
  -h, --help      show this help

Imported data never leaves the device: only model updates, column sums and label counts
(for standardisation and the dashboard) and evaluation scores are sent. A bad file is
reported before anything is sent. Without --csv or --images, a local-data project uses the
data imported into --data DIR before; a demo project downloads its shard.`;

/** Bad command line: the CLI prints the message and the usage and exits with code 2. */
export class UsageError extends Error {
	override readonly name = 'UsageError';
}

/** `env` supplies QFLARE_JOIN_TOKEN, which keeps the token out of the process list. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
	let values;
	try {
		({ values } = parseArgs({
			args: [...argv],
			options: {
				server: { type: 'string' },
				project: { type: 'string' },
				data: { type: 'string' },
				name: { type: 'string' },
				shard: { type: 'string' },
				csv: { type: 'string' },
				images: { type: 'string' },
				labels: { type: 'string' },
				'join-token': { type: 'string' },
				'rotate-key': { type: 'boolean' },
				help: { type: 'boolean', short: 'h' }
			},
			strict: true,
			allowPositionals: false
		}));
	} catch (error) {
		// node:util's messages name the offending option; its error codes are not worth exposing.
		throw new UsageError(error instanceof Error ? error.message : String(error));
	}
	if (values.help) return { help: true };
	const missing = (['server', 'project', 'data'] as const).filter((k) => !values[k]?.trim());
	if (missing.length) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(', ')}`);
	const given = (value: string | undefined) => (value?.trim() ? value : null);
	const csvFile = given(values.csv);
	const imagesDir = given(values.images);
	const labelsFile = given(values.labels);
	const shardFile = given(values.shard);
	const sources = [csvFile && '--csv', imagesDir && '--images', shardFile && '--shard'].filter(Boolean);
	if (sources.length > 1) throw new UsageError(`${sources.join(' and ')} cannot be used together: give one source of training data`);
	if (labelsFile && !imagesDir) throw new UsageError('--labels names the labels of an image folder: use it with --images DIR');
	return {
		help: false,
		options: {
			server: parseServerUrl(values.server!),
			project: parseProjectId(values.project!),
			dataDir: values.data!,
			shardFile,
			csvFile,
			imagesDir,
			labelsFile,
			name: values.name?.trim() ? values.name.trim().slice(0, 120) : null,
			joinToken: parseJoinToken(values['join-token'] ?? env.QFLARE_JOIN_TOKEN),
			rotateKey: values['rotate-key'] ?? false
		}
	};
}

/** The server's origin: http(s) only, path and trailing slashes dropped. */
export function parseServerUrl(raw: string): string {
	let url: URL;
	try {
		url = new URL(raw.trim());
	} catch {
		throw new UsageError(`--server: "${raw}" is not a URL (expected e.g. http://localhost:3000)`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new UsageError(`--server: "${raw}" must be an http:// or https:// URL`);
	}
	return url.origin;
}

/** A pasted join link works too: its `t` parameter is the token. */
function parseJoinToken(raw: string | undefined): string | null {
	let token = raw?.trim() ?? '';
	if (!token) return null;
	if (/^https?:\/\//.test(token)) {
		let fromLink: string | null = null;
		try {
			fromLink = new URL(token).searchParams.get('t');
		} catch {
			throw new UsageError('--join-token: the link is not a URL');
		}
		if (!fromLink) throw new UsageError('--join-token: the link carries no t= join token');
		token = fromLink;
	}
	// The server's own bounds: anything else is a copy-paste mistake, better said now than at login.
	if (!/^[A-Za-z0-9_-]{16,200}$/.test(token)) throw new UsageError('--join-token: not a join token (expected qjt_... from the join link)');
	return token;
}

function parseProjectId(raw: string): string {
	const id = raw.trim();
	// Project ids are path segments of the join link; anything else is a copy-paste mistake.
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UsageError(`--project: "${raw}" is not a project id`);
	return id;
}
