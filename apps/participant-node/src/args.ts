import { parseArgs } from 'node:util';

export interface CliOptions {
	server: string;
	project: string;
	dataDir: string;
	/** A local QFS1 shard file to train on instead of the server's demo shard. */
	shardFile: string | null;
	/** Free-form label shown in the output and sent as the user agent. */
	name: string | null;
}

export type ParsedArgs = { help: true } | { help: false; options: CliOptions };

export const USAGE = `usage: qflare-participant --server URL --project ID --data DIR [--name LABEL] [--shard FILE]

  --server URL    the Qflare server, e.g. http://192.168.1.20:3000
  --project ID    the project to join (from the dashboard's join link)
  --data DIR      keeps this device's ML-DSA identity and the cached demo shard
  --name LABEL    label for this participant in the output and on the dashboard
  --shard FILE    train on this local shard file (QFS1, datasets/build-shards) instead of
                  downloading the server's demo shard; the file never leaves the device
  -h, --help      show this help`;

/** Bad command line: the CLI prints the message and the usage and exits with code 2. */
export class UsageError extends Error {
	override readonly name = 'UsageError';
}

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
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
	return {
		help: false,
		options: {
			server: parseServerUrl(values.server!),
			project: parseProjectId(values.project!),
			dataDir: values.data!,
			shardFile: values.shard?.trim() ? values.shard : null,
			name: values.name?.trim() ? values.name.trim().slice(0, 120) : null
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

function parseProjectId(raw: string): string {
	const id = raw.trim();
	// Project ids are path segments of the join link; anything else is a copy-paste mistake.
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UsageError(`--project: "${raw}" is not a project id`);
	return id;
}
