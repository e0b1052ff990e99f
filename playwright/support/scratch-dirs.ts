import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from '@playwright/test';

/** Temporary folders for a spec file's data, removed after its last test. */
export function scratchDirs(): (prefix: string) => string {
	const dirs: string[] = [];
	test.afterAll(() => {
		for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
	});
	return (prefix) => {
		const dir = mkdtempSync(path.join(tmpdir(), prefix));
		dirs.push(dir);
		return dir;
	};
}
