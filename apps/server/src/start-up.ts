import { openStore, type Store } from '@qflare/store';
import { heldBy, removePidFile, writePidFile } from './auth/pid-file';
import { consoleLog, type Log } from './logging';

/**
 * Opens the store for `npm start` and `npm run dev`. The embedded store has one writer, so this
 * exits when another live server holds the folder, and marks it held (a pid file, removed on exit)
 * so that reset-admin and a second server refuse while this one runs.
 */
export async function openServerStore(options: { mongodbUri: string | undefined; dataDir: string }): Promise<Store> {
	const { mongodbUri, dataDir } = options;
	const holder = mongodbUri ? null : heldBy(dataDir);
	if (holder !== null && holder !== process.pid) {
		console.error(`[qflare] another process (pid ${holder}) holds the store in ${dataDir}; stop it first.`);
		process.exit(1);
	}
	const store = await openStore({ mongodbUri, dataDir });
	if (store.backend === 'embedded') {
		writePidFile(dataDir);
		process.on('exit', () => removePidFile(dataDir));
	}
	return store;
}

/**
 * The one line where a secret is printed, by design: whoever reads the console creates the owner.
 * `origin` is the address the browser uses, which is not the API's own behind the dev proxy.
 */
export function logSetupLink(origin: string, setupToken: string | null, log: Log = consoleLog): void {
	if (setupToken) log(`first run: open ${origin}/setup?token=${setupToken} to create the owner account`);
}
