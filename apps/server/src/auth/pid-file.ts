import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `<DATA_DIR>/server.pid` marks the embedded store as held by a running server (nedb files have one writer). */
export function pidFilePath(dataDir: string): string {
	return path.join(dataDir, 'server.pid');
}

export function writePidFile(dataDir: string): void {
	writeFileSync(pidFilePath(dataDir), `${process.pid}\n`);
}

/** Removes the file only when it is this process's (a second server must not delete the first's). */
export function removePidFile(dataDir: string): void {
	if (heldBy(dataDir) === process.pid) rmSync(pidFilePath(dataDir), { force: true });
}

/** The pid of a live process holding the store, or null (no file, garbage, or a stale pid). */
export function heldBy(dataDir: string): number | null {
	const file = pidFilePath(dataDir);
	if (!existsSync(file)) return null;
	const pid = Number(readFileSync(file, 'utf8').trim());
	if (!Number.isInteger(pid) || pid <= 0) return null;
	try {
		process.kill(pid, 0);
		return pid;
	} catch (e) {
		// EPERM: the process exists but belongs to someone else; still a holder.
		return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
	}
}
